"""GET /v1/customers: filters, ordering, page and cursor paging, envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrons.core.clock import format_ms
from tests.factories import create_customer, seed_customers


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def ids_of(body: dict) -> list[str]:
    return [c["id"] for c in body["customers"]]


class TestEnvelope:
    def test_empty_list(self, api) -> None:
        assert api.get("/v1/customers").json() == {
            "object": "list",
            "data_ref": "customers",
            "customers": [],
            "total": 0,
            "has_more": False,
        }

    def test_default_limit_and_newest_first(self, api, server, project) -> None:
        seed_customers(
            server.backend.url,
            project.id,
            [{"source_id": f"s{i:02d}", "created_at": 1_700_000_000_000 + i} for i in range(12)],
        )
        body = api.get("/v1/customers").json()
        assert [c["source_id"] for c in body["customers"]] == [
            f"s{i:02d}" for i in range(11, 1, -1)
        ]
        assert body["total"] == 12
        assert body["has_more"] is True


class TestFilters:
    @pytest.fixture(autouse=True)
    def customers(self, api) -> None:
        create_customer(
            api, source_id="a", name="Ada", email="ada@x.org", address={"city": "London"}
        )
        create_customer(
            api, source_id="b", name="Bob", email="bob@x.org", address={"city": "Paris"}
        )
        create_customer(api, source_id="c", name="Ada", email="c@x.org", address={"city": "Paris"})
        create_customer(api, source_id="d", name=None, email=None)

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"email": "bob@x.org"}, {"b"}),
            ({"city": "Paris"}, {"b", "c"}),
            ({"name": "Ada"}, {"a", "c"}),
            ({"name": "Ada", "city": "Paris"}, {"c"}),
            ({"email": "nobody@x.org"}, set()),
        ],
    )
    def test_equality_filters(self, api, params: dict, expected: set[str]) -> None:
        body = api.get("/v1/customers", params=params).json()
        assert {c["source_id"] for c in body["customers"]} == expected
        assert body["total"] == len(expected)

    def test_unknown_segment_is_404(self, api) -> None:
        response = api.get("/v1/customers", params={"segment_id": "seg_unknown"})
        assert response.status_code == 404
        assert response.json()["resource_type"] == "segment"


class TestDateFilters:
    @pytest.fixture(autouse=True)
    def customers(self, server, project) -> None:
        seed_customers(
            server.backend.url,
            project.id,
            [
                {"source_id": "jan", "created_at": ms("2024-01-01T12:00:00")},
                {
                    "source_id": "feb",
                    "created_at": ms("2024-02-01T12:00:00"),
                    "updated_at": ms("2024-05-01T00:00:00"),
                },
                {
                    "source_id": "mar",
                    "created_at": ms("2024-03-01T12:00:00"),
                    "updated_at": ms("2024-03-02T00:00:00"),
                },
            ],
        )

    @pytest.mark.parametrize(
        "value",
        [
            "2024-01-15",
            "2024-01-15T00:00:00.000Z",
            "2024-01-15T00:00:00.000000+0000",
            "2024-01-15T00:00:00",
            "2024-01-15T01:00:00+01:00",
        ],
    )
    def test_created_after_in_every_datetime_form(self, api, value: str) -> None:
        body = api.get("/v1/customers", params={"created_at[after]": value}).json()
        assert {c["source_id"] for c in body["customers"]} == {"feb", "mar"}
        assert body["total"] == 2

    def test_percent_encoded_bracket_keys(self, api) -> None:
        url = "/v1/customers?created_at%5Bbefore%5D=2024-02-15T00%3A00%3A00.000Z"
        body = api.get(url).json()
        assert {c["source_id"] for c in body["customers"]} == {"jan", "feb"}

    def test_created_window(self, api) -> None:
        params = {"created_at[after]": "2024-01-15", "created_at[before]": "2024-02-15"}
        assert [
            c["source_id"] for c in api.get("/v1/customers", params=params).json()["customers"]
        ] == ["feb"]

    def test_updated_filters(self, api) -> None:
        after = api.get("/v1/customers", params={"updated_at[after]": "2024-04-01"}).json()
        assert [c["source_id"] for c in after["customers"]] == ["feb"]
        before = api.get("/v1/customers", params={"updated_at[before]": "2024-04-01"}).json()
        assert [c["source_id"] for c in before["customers"]] == ["mar"]


class TestOrder:
    @pytest.fixture(autouse=True)
    def customers(self, server, project) -> None:
        seed_customers(
            server.backend.url,
            project.id,
            [
                {"source_id": "b", "created_at": 1000, "updated_at": 9000},
                {"source_id": "c", "created_at": 2000},
                {"source_id": None, "created_at": 3000, "updated_at": 5000},
                {"source_id": "a", "created_at": 4000, "updated_at": 7000},
            ],
        )

    @pytest.mark.parametrize(
        ("order", "expected"),
        [
            ("created_at", ["b", "c", None, "a"]),
            ("-created_at", ["a", None, "c", "b"]),
            ("updated_at", ["c", None, "a", "b"]),
            ("-updated_at", ["b", "a", None, "c"]),
            ("source_id", [None, "a", "b", "c"]),
            ("-source_id", ["c", "b", "a", None]),
        ],
    )
    def test_every_order(self, api, order: str, expected: list) -> None:
        body = api.get("/v1/customers", params={"order": order}).json()
        assert [c["source_id"] for c in body["customers"]] == expected


class TestPaging:
    @pytest.fixture
    def seeded(self, server, project) -> list[str]:
        # 25 customers; several share a created_at millisecond (ties broken by id).
        rows = [{"source_id": f"p{i:02d}", "created_at": 5_000 + i // 3} for i in range(25)]
        seed_customers(server.backend.url, project.id, rows)
        return [r["source_id"] for r in rows]

    def test_pages_cover_everything_once(self, api, seeded) -> None:
        seen: list[str] = []
        for page in (1, 2, 3):
            body = api.get("/v1/customers", params={"limit": 10, "page": page}).json()
            assert body["total"] == 25
            assert body["has_more"] is (page < 3)
            seen += [c["source_id"] for c in body["customers"]]
        assert sorted(seen) == sorted(seeded)
        assert len(seen) == 25

    def test_page_beyond_end_is_empty(self, api, seeded) -> None:
        body = api.get("/v1/customers", params={"limit": 10, "page": 4}).json()
        assert body["customers"] == []
        assert body["has_more"] is False
        assert body["total"] == 25

    @pytest.mark.parametrize("order", [None, "created_at"])
    def test_cursor_scroll_like_js_sdk_reaches_everyone_once(
        self, api, server, project, seeded, order
    ) -> None:
        # One group of 7 customers in the same millisecond is larger than the page size.
        seed_customers(
            server.backend.url,
            project.id,
            [{"source_id": f"t{i}", "created_at": 9_999} for i in range(7)],
        )
        ascending = order == "created_at"
        cursor = "1970-01-01T00:00:00Z" if ascending else "2200-01-01T00:00:00Z"
        seen: list[str] = []
        for _ in range(50):
            params = {"limit": 5, "starting_after": cursor}
            if order:
                params["order"] = order
            body = api.get("/v1/customers", params=params).json()
            if not body["customers"]:
                break
            stamps = [c["created_at"] for c in body["customers"]]
            assert stamps == sorted(stamps, reverse=not ascending)
            seen += [c["source_id"] for c in body["customers"]]
            cursor = max(stamps) if ascending else min(stamps)
            if not body["has_more"]:
                break
        assert len(seen) == 32
        assert len(set(seen)) == 32

    def test_cursor_is_exclusive(self, api, seeded) -> None:
        # customers p00..p02 share created_at 5000; p03..p05 share 5001, ...
        body = api.get(
            "/v1/customers", params={"starting_after": format_ms(5_001), "limit": 100}
        ).json()
        assert sorted(c["source_id"] for c in body["customers"]) == ["p00", "p01", "p02"]
