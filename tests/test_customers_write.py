"""POST (create/upsert), PUT, DELETE on /v1/customers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from patrons.core.clock import format_ms
from tests.factories import create_customer

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class TestCreate:
    def test_a_created_customers_id_starts_with_its_created_at(self, api) -> None:
        """Time-ordered ids (core.ids.ordered_customer_id): the 7 characters after `cust_`
        are the created_at millisecond in sortable base 62, so new keys append to the id
        indexes; the rest is random."""
        seen = []
        for body in ({"source_id": "ordered-id-1"}, {"name": "No Source"}):
            c = api.post("/v1/customers", json=body).json()
            assert re.fullmatch(r"cust_[A-Za-z0-9]{24}", c["id"])
            ms = 0
            for ch in c["id"][5:12]:
                ms = ms * 62 + _BASE62.index(ch)
            assert format_ms(ms) == c["created_at"]
            seen.append(c["id"])
        assert seen[0][12:] != seen[1][12:]  # the random tails differ

    def test_full_object_for_new_customer(self, api) -> None:
        response = api.post(
            "/v1/customers",
            json={
                "source_id": "crm-1042",
                "name": "Ada Lovelace",
                "email": "ada@example.org",
                "phone": "+44 20 7946 0000",
                "birthdate": "1990-12-10",
                "address": {"city": "London", "line_1": "12 Byron St", "country": "GB"},
                "metadata": {"tier": "gold", "score": 3, "tags": ["a"], "nested": {"x": None}},
            },
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        c = response.json()
        assert re.fullmatch(r"cust_[A-Za-z0-9]{24}", c["id"])
        assert c["object"] == "customer"
        assert c["source_id"] == "crm-1042"
        assert c["birthdate"] == "1990-12-10"
        assert c["birthday"] is None
        assert "description" not in c  # non-nullable on the wire: unset means absent
        assert c["address"] == {"city": "London", "line_1": "12 Byron St", "country": "GB"}
        assert c["metadata"] == {"tier": "gold", "score": 3, "tags": ["a"], "nested": {"x": None}}
        assert c["system_metadata"] == {}
        assert ISO_MS.match(c["created_at"])
        assert c["updated_at"] is None
        assert c["summary"]["redemptions"]["total_redeemed"] == 0
        assert c["summary"]["redemptions"]["gift"] == {"redeemed_amount": 0, "amount_to_go": 0}
        assert c["summary"]["orders"]["total_count"] == 0
        assert c["loyalty"] == {"points": 0, "referred_customers": 0, "campaigns": {}}
        assert c["referrals"] == {"total": 0, "campaigns": []}

    def test_empty_object_creates_customer_without_source_id(self, api) -> None:
        c = api.post("/v1/customers", json={}).json()
        assert c["source_id"] is None
        assert c["address"] is None
        assert "metadata" not in c  # absent until the customer has some (JS 2.x suite)
        for name in ("name", "description", "email", "phone"):
            assert name not in c
        assert api.get(f"/v1/customers/{c['id']}").status_code == 200

    def test_unknown_fields_are_ignored(self, api) -> None:
        response = api.post("/v1/customers", json={"source_id": "x1", "whatever": {"a": 1}})
        assert response.status_code == 200
        assert "whatever" not in response.json()


class TestUpsert:
    def test_same_source_id_updates_same_customer(self, api) -> None:
        first = create_customer(api, source_id="crm-1", name="Ada", email="a@x.org")
        second = api.post("/v1/customers", json={"source_id": "crm-1", "name": "Ada L."})
        assert second.status_code == 200
        body = second.json()
        assert body["id"] == first["id"]
        assert body["name"] == "Ada L."
        assert body["email"] == "a@x.org"  # absent → unchanged
        assert body["created_at"] == first["created_at"]
        assert ISO_MS.match(body["updated_at"])
        assert api.get("/v1/customers").json()["total"] == 1

    def test_id_wins_over_source_id(self, api) -> None:
        a = create_customer(api, source_id="a")
        b = create_customer(api, source_id="b")
        body = api.post("/v1/customers", json={"id": a["id"], "source_id": "b", "name": "N"}).json()
        assert body["id"] == a["id"]
        assert body["name"] == "N"
        assert api.get(f"/v1/customers/{b['id']}").json()["name"] == b["name"]

    def test_unknown_id_is_404(self, api) -> None:
        response = api.post("/v1/customers", json={"id": "cust_doesnotexist", "name": "N"})
        assert response.status_code == 404
        assert response.json()["resource_id"] == "cust_doesnotexist"
        assert api.get("/v1/customers").json()["total"] == 0

    def test_concurrent_upserts_of_one_source_id_make_one_customer(self, server, project) -> None:
        def upsert(i: int) -> str:
            with httpx.Client(base_url=server.base_url, headers=project.headers) as client:
                response = client.post(
                    "/v1/customers", json={"source_id": "race", "metadata": {"i": i}}
                )
                assert response.status_code == 200, response.text
                return response.json()["id"]

        with ThreadPoolExecutor(max_workers=50) as pool:
            ids = set(pool.map(upsert, range(50)))
        assert len(ids) == 1
        with httpx.Client(base_url=server.base_url, headers=project.headers) as client:
            body = client.get("/v1/customers").json()
        assert body["total"] == 1
        assert len(body["customers"]) == 1


class TestUpdate:
    @pytest.fixture
    def customer(self, api) -> dict:
        return create_customer(
            api,
            source_id="u-1",
            name="Ada",
            email="ada@x.org",
            phone="123",
            address={"city": "London", "state": "LDN"},
            metadata={"a": 1, "b": 2},
        )

    def test_absent_fields_stay_and_null_clears(self, api, customer) -> None:
        body = api.put("/v1/customers/u-1", json={"name": "Ada L.", "phone": None}).json()
        assert body["name"] == "Ada L."
        assert "phone" not in body
        assert body["email"] == "ada@x.org"
        assert body["address"]["city"] == "London"
        assert body["metadata"] == {"a": 1, "b": 2}
        assert ISO_MS.match(body["updated_at"])
        assert api.get("/v1/customers/u-1").json() == body

    def test_address_merges_by_key(self, api, customer) -> None:
        body = api.put("/v1/customers/u-1", json={"address": {"city": "Bath", "state": None}})
        assert body.json()["address"] == {"city": "Bath", "state": None}
        body = api.put("/v1/customers/u-1", json={"address": {"line_1": "1 Royal Cres"}})
        assert body.json()["address"] == {"city": "Bath", "state": None, "line_1": "1 Royal Cres"}

    def test_address_keys_exactly_as_sent_nulls_included(self, api) -> None:
        c = api.post(
            "/v1/customers", json={"source_id": "a-1", "address": {"city": "NY", "country": "US"}}
        ).json()
        assert c["address"] == {"city": "NY", "country": "US"}
        body = api.put("/v1/customers/a-1", json={"address": {"city": None, "country": None}})
        assert body.json()["address"] == {"city": None, "country": None}
        assert api.get("/v1/customers/a-1").json()["address"] == {"city": None, "country": None}

    def test_address_after_null_starts_again(self, api, customer) -> None:
        assert api.put("/v1/customers/u-1", json={"address": None}).json()["address"] is None
        body = api.put("/v1/customers/u-1", json={"address": {"country": "PL"}}).json()
        assert body["address"] == {"country": "PL"}

    def test_upsert_merges_address_keys(self, api, customer) -> None:
        body = api.post(
            "/v1/customers", json={"source_id": "u-1", "address": {"postal_code": "BA1"}}
        ).json()
        assert body["address"] == {"city": "London", "state": "LDN", "postal_code": "BA1"}

    def test_without_address_it_is_null(self, api) -> None:
        assert api.post("/v1/customers", json={"source_id": "n-1"}).json()["address"] is None

    def test_null_address_clears_it(self, api, customer) -> None:
        assert api.put("/v1/customers/u-1", json={"address": None}).json()["address"] is None

    def test_metadata_replaces(self, api, customer) -> None:
        assert api.put("/v1/customers/u-1", json={"metadata": {"c": 3}}).json()["metadata"] == {
            "c": 3
        }

    def test_null_metadata_empties_it(self, api, customer) -> None:
        assert "metadata" not in api.put("/v1/customers/u-1", json={"metadata": None}).json()

    def test_by_id(self, api, customer) -> None:
        response = api.put(f"/v1/customers/{customer['id']}", json={"birthday": "2000-01-02"})
        assert response.status_code == 200
        assert response.json()["birthday"] == "2000-01-02"
        assert response.json()["birthdate"] is None

    def test_source_id_in_body_is_ignored(self, api, customer) -> None:
        # The JS SDK leaves source_id in the PUT body.
        body = api.put("/v1/customers/u-1", json={"source_id": "other", "name": "Z"}).json()
        assert body["source_id"] == "u-1"
        assert body["name"] == "Z"

    def test_unknown_customer_is_404(self, api) -> None:
        response = api.put("/v1/customers/missing", json={"name": "x"})
        assert response.status_code == 404
        assert response.json()["resource_type"] == "customer"


class TestDelete:
    def test_delete_then_404_everywhere(self, api) -> None:
        c = create_customer(api, source_id="d-1")
        response = api.delete("/v1/customers/d-1")
        assert response.status_code == 204
        assert response.content == b""
        assert api.get(f"/v1/customers/{c['id']}").status_code == 404
        assert api.get("/v1/customers/d-1").status_code == 404
        assert api.put(f"/v1/customers/{c['id']}", json={"name": "x"}).status_code == 404
        assert api.delete(f"/v1/customers/{c['id']}").status_code == 404
        listing = api.get("/v1/customers").json()
        assert listing["customers"] == []
        assert listing["total"] == 0

    def test_source_id_can_be_used_again(self, api) -> None:
        old = create_customer(api, source_id="again")
        api.delete("/v1/customers/again")
        new = create_customer(api, source_id="again")
        assert new["id"] != old["id"]
        assert api.get("/v1/customers/again").json()["id"] == new["id"]

    def test_json_content_type_with_empty_body_is_accepted(self, api) -> None:
        # The JS SDK sends Content-Type: application/json on every call, bodiless ones too.
        create_customer(api, source_id="d-2")
        headers = {"Content-Type": "application/json"}
        assert api.get("/v1/customers/d-2", headers=headers).status_code == 200
        assert api.delete("/v1/customers/d-2", headers=headers).status_code == 204


@pytest.mark.parametrize(
    "source_id",
    ["a/b", "ada@example.org", "a+b", "with space", "café-ü", "x%2Fy", "50%", "a?b#c", "a;b,c"],
)
def test_percent_encoded_source_ids(api, source_id: str) -> None:
    from urllib.parse import quote

    created = create_customer(api, source_id=source_id)
    path = "/v1/customers/" + quote(source_id, safe="")
    got = api.get(path)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == created["id"]
    assert api.put(path, json={"name": "Renamed"}).json()["name"] == "Renamed"
    assert api.delete(path).status_code == 204
    assert api.get(path).json()["resource_id"] == source_id
