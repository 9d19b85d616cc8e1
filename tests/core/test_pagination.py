"""core.pagination: one `limit`/`page` parser for every list, the has_more rule, cursors."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec import UNSET

from patrons.core import pagination
from patrons.core.errors import InvalidQueryParams


def _refused(call: Any) -> str:
    with pytest.raises(InvalidQueryParams) as caught:
        call()
    assert caught.value.details is not None
    return caught.value.details


class TestLimit:
    @pytest.mark.parametrize("raw", [None, ""])
    def test_absent_or_empty_is_the_default(self, raw: Any) -> None:
        assert pagination.parse_limit(raw) == 10

    @pytest.mark.parametrize(("raw", "value"), [("1", 1), ("100", 100), ("42", 42)])
    def test_bounds_are_inclusive(self, raw: str, value: int) -> None:
        assert pagination.parse_limit(raw) == value

    @pytest.mark.parametrize("raw", ["0", "101", "-1", "1000000000000000000000"])
    def test_out_of_bounds(self, raw: str) -> None:
        details = _refused(lambda: pagination.parse_limit(raw))
        assert details == "Property .limit must be >= 1 and <= 100"

    @pytest.mark.parametrize("raw", ["ten", "1.5", "1e2", " ", ["5"], ["5", "6"], {"a": "1"}])
    def test_not_one_integer(self, raw: Any) -> None:
        assert _refused(lambda: pagination.parse_limit(raw)) == "Property .limit must be integer"


class TestPage:
    def test_absent_is_the_first_page(self) -> None:
        assert pagination.parse_page(None, high=99) == 1

    def test_each_endpoint_keeps_its_own_upper_bound(self) -> None:
        assert pagination.parse_page("99", high=99) == 99
        details = _refused(lambda: pagination.parse_page("100", high=99))
        assert details == "Property .page must be >= 1 and <= 99"
        assert pagination.parse_page("1000", high=1000) == 1000

    @pytest.mark.parametrize(
        ("raw", "details"),
        [
            ("0", "Property .page must be >= 1 and <= 100"),
            ("x", "Property .page must be integer"),
        ],
    )
    def test_refused(self, raw: str, details: str) -> None:
        assert _refused(lambda: pagination.parse_page(raw, high=100)) == details

    def test_offset(self) -> None:
        assert pagination.offset(1, 10) == 0
        assert pagination.offset(3, 25) == 50


class TestEnvelope:
    def test_one_row_more_than_the_page_means_more(self) -> None:
        rows = [{"id": f"r{i}"} for i in range(pagination.fetch_size(3))]
        page, has_more = pagination.split(rows, 3)
        assert [r["id"] for r in page] == ["r0", "r1", "r2"]
        assert has_more is True
        assert pagination.next_cursor(page, has_more, lambda r: r["id"]) == "r2"

    @pytest.mark.parametrize("count", [0, 2, 3])
    def test_the_last_page_has_no_cursor(self, count: int) -> None:
        page, has_more = pagination.split([{"id": str(i)} for i in range(count)], 3)
        assert len(page) == count
        assert has_more is False
        assert pagination.next_cursor(page, has_more, lambda r: r["id"]) is UNSET

    def test_keyset_direction(self) -> None:
        assert pagination.after(descending=True) == "<"
        assert pagination.after(descending=False) == ">"
