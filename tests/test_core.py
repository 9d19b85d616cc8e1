"""Framework-free pieces: query-string parsing, the clock, path ids, the error renderer."""

from __future__ import annotations

import pytest
from litestar import get
from litestar.testing import create_test_client

from patrons.core.clock import format_ms, parse_datetime_ms
from patrons.core.paths import decode_path_id
from patrons.core.querystring import parse_flat, parse_nested
from patrons.http.errors import exception_handler


class TestQueryString:
    def test_raw_and_encoded_bracket_keys_are_equal(self) -> None:
        raw = parse_flat(b"created_at[before]=2024-01-01")
        encoded = parse_flat(b"created_at%5Bbefore%5D=2024-01-01")
        assert raw == encoded == {"created_at[before]": "2024-01-01"}

    def test_js_qs_indexed_arrays(self) -> None:
        q = (
            "filters%5Bholder_role%5D%5Bconditions%5D%5B%24in%5D%5B0%5D=OWNER"
            "&filters%5Bholder_role%5D%5Bconditions%5D%5B%24in%5D%5B1%5D=REFEREE"
        )
        assert parse_nested(q) == {
            "filters": {"holder_role": {"conditions": {"$in": ["OWNER", "REFEREE"]}}}
        }

    def test_python_sdk_forms_are_kept_as_text(self) -> None:
        q = "filters[holder_role][conditions][$in]=%5B%27OWNER%27%5D&filters[id]=None"
        assert parse_nested(q) == {
            "filters": {"holder_role": {"conditions": {"$in": "['OWNER']"}}, "id": "None"}
        }

    def test_repeated_keys_become_lists(self) -> None:
        assert parse_nested("a=1&a=2&b[]=x&b[]=y") == {"a": ["1", "2"], "b": ["x", "y"]}


class TestClock:
    @pytest.mark.parametrize(
        "text",
        [
            "2024-01-01T00:00:00.000000+0000",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01",
            "2024-01-01T01:00:00+01:00",
            "2024-01-01T00:00:00.000000 0000",  # '+' decoded to a space in a query string
        ],
    )
    def test_every_sdk_form_parses_to_the_same_instant(self, text: str) -> None:
        assert parse_datetime_ms(text) == 1_704_067_200_000

    @pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "2024-01-01T25:00:00"])
    def test_garbage_is_rejected(self, text: str) -> None:
        with pytest.raises(ValueError, match=r".*"):
            parse_datetime_ms(text)

    def test_format_has_milliseconds_and_z(self) -> None:
        assert format_ms(1_661_841_127_380) == "2022-08-30T06:32:07.380Z"
        assert format_ms(0) == "1970-01-01T00:00:00.000Z"


class TestPathIds:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("a%2Fb", "a/b"),
            ("x%252Fy", "x%2Fy"),
            ("caf%C3%A9", "café"),
            ("a%40b.com", "a@b.com"),
            ("a%2Bb", "a+b"),
            ("a%20b", "a b"),
            ("plain", "plain"),
        ],
    )
    def test_decoded_exactly_once(self, raw: str, value: str) -> None:
        assert decode_path_id(raw) == value


def test_unhandled_error_is_500_without_internals() -> None:
    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password in a stack trace")

    with create_test_client(
        [boom], exception_handlers={Exception: exception_handler(1024)}, logging_config=None
    ) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == 500
    assert body["message"] == "Internal server error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
