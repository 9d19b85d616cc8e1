"""PUT /v1/customers/{id}/consents and GET /v1/consents over HTTP on both databases (issue 18):
stored per customer, shown as the customer's `system_metadata.consents`, `unsubscribed`,
erased with the customer, tenant walls and bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.factories import create_customer, db_fetch
from tests.helpers import assert_error
from tests.test_permanent_deletion import _rows_mentioning

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def put_consents(api: httpx.Client, ref: str, body: Any) -> None:
    response = api.put(f"/v1/customers/{ref}/consents", json=body)
    assert response.status_code == 204, response.text
    assert response.content == b""


def shown(api: httpx.Client, ref: str) -> dict[str, bool]:
    """consent id → value, as the customer object shows them."""
    customer = api.get(f"/v1/customers/{ref}").json()
    consents = customer["system_metadata"].get("consents", {})
    return {key: entry["value"] for key, entry in consents.items()}


def consent_rows(server: Any, project: Any) -> list[dict[str, Any]]:
    return db_fetch(
        server.backend.url,
        "SELECT customer_id, consent_id FROM customer_consent WHERE project_id = $1",
        project.id,
    )


class TestUpdate:
    def test_consents_are_shown_on_the_customer(self, api: httpx.Client):
        customer = create_customer(api, source_id="cs-1")
        assert customer["system_metadata"] == {}

        put_consents(api, customer["id"], {"cnst_news": True, "cnst_sms": False})

        got = api.get(f"/v1/customers/{customer['id']}").json()
        entries = got["system_metadata"]["consents"]
        assert {k: v["value"] for k, v in entries.items()} == {
            "cnst_news": True,
            "cnst_sms": False,
        }
        for entry in entries.values():
            assert isinstance(entry["date"], str)
            assert entry["date"].endswith("Z")
        listed = api.get("/v1/customers", params={"limit": 100}).json()["customers"]
        assert listed[0]["system_metadata"]["consents"]["cnst_news"]["value"] is True

    def test_by_source_id_and_later_calls_change_only_what_they_name(self, api: httpx.Client):
        create_customer(api, source_id="cs/2@x")

        put_consents(api, "cs%2F2%40x", {"a": True, "b": True})
        put_consents(api, "cs%2F2%40x", {"b": False, "c": True})

        assert shown(api, "cs%2F2%40x") == {"a": True, "b": False, "c": True}

    def test_unsubscribed_withdraws_every_consent_and_a_new_one_resubscribes(self, api):
        create_customer(api, source_id="cs-3")
        put_consents(api, "cs-3", {"a": True, "b": True})

        put_consents(api, "cs-3", {"unsubscribed": True})
        assert shown(api, "cs-3") == {"a": False, "b": False, "unsubscribed": True}

        put_consents(api, "cs-3", {"b": True})
        assert shown(api, "cs-3") == {"a": False, "b": True, "unsubscribed": False}

    def test_the_sdks_body_and_an_empty_one(self, api: httpx.Client):
        create_customer(api, source_id="cs-4")

        put_consents(api, "cs-4", {})
        assert shown(api, "cs-4") == {}
        put_consents(api, "cs-4", {"unsubscribed": True})  # the JS SDK's own test body
        assert shown(api, "cs-4") == {"unsubscribed": True}

    def test_the_customer_is_otherwise_unchanged(self, api: httpx.Client):
        before = create_customer(api, source_id="cs-5", name="Ada", metadata={"k": 1})

        put_consents(api, "cs-5", {"a": True})

        after = api.get("/v1/customers/cs-5").json()
        assert {k: v for k, v in after.items() if k != "system_metadata"} == {
            k: v for k, v in before.items() if k != "system_metadata"
        }
        kinds = [e["type"] for e in api.get("/v1/customers/cs-5/activity").json()["data"]]
        assert kinds == ["customer.created"]  # no non-spec consent event

    def test_an_update_of_the_customer_keeps_its_consents(self, api: httpx.Client):
        create_customer(api, source_id="cs-6")
        put_consents(api, "cs-6", {"a": True})

        updated = api.put("/v1/customers/cs-6", json={"name": "New"}).json()
        upserted = api.post("/v1/customers", json={"source_id": "cs-6", "name": "Newer"}).json()

        assert shown(api, "cs-6") == {"a": True}
        assert updated["name"] == "New"
        assert upserted["name"] == "Newer"


class TestConcurrency:
    def test_concurrent_updates_of_one_customer_all_land(self, api: httpx.Client, server):
        """The customer row is locked before the rows are written and the copy rebuilt, so no
        update's consent is lost from `system_metadata` (PostgreSQL runs them in parallel)."""
        create_customer(api, source_id="cc-1")
        url = f"{server.base_url}/v1/customers/cc-1/consents"

        def put(i: int) -> int:
            with httpx.Client(headers=api.headers, timeout=30) as client:
                return client.put(url, json={f"c{i}": True}).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(put, range(16)))

        assert statuses == [204] * 16
        assert shown(api, "cc-1") == {f"c{i}": True for i in range(16)}


class TestList:
    def test_lists_the_consent_ids_the_project_has_set(self, api: httpx.Client):
        empty = api.get("/v1/consents")
        assert empty.status_code == 200, empty.text
        assert empty.json() == {
            "groups": {"data": [], "total": 0, "object": "list", "data_ref": "data"},
            "consents": {"data": [], "total": 0, "object": "list", "data_ref": "data"},
        }
        create_customer(api, source_id="cl-1")
        create_customer(api, source_id="cl-2")
        put_consents(api, "cl-1", {"cnst_b": True, "cnst_a": False})
        put_consents(api, "cl-2", {"cnst_a": True, "unsubscribed": False})

        body = api.get("/v1/consents").json()

        assert body["groups"]["total"] == 0
        assert body["consents"]["total"] == 2
        assert body["consents"]["object"] == "list"
        assert body["consents"]["data_ref"] == "data"
        assert [c["id"] for c in body["consents"]["data"]] == ["cnst_a", "cnst_b"]
        first = body["consents"]["data"][0]
        assert first["object"] == "consent"
        assert first["name"] == "cnst_a"
        assert first["category"] == ""
        assert first["created_at"].endswith("Z")


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            [],
            ["a"],
            "a",
            {"a": "yes"},
            {"a": 1},
            {"a": None},
            {"": True},
            {"c" * 513: True},
            {f"c{i}": True for i in range(101)},
        ],
    )
    def test_is_a_400_and_writes_nothing(self, server, api, project, body):
        create_customer(api, source_id="cb-1")

        response = api.put("/v1/customers/cb-1/consents", json=body)

        assert_error(response, 400, "invalid_payload")
        assert consent_rows(server, project) == []
        assert shown(api, "cb-1") == {}

    def test_no_body_is_a_400(self, api: httpx.Client):
        create_customer(api, source_id="cb-2")
        assert_error(api.put("/v1/customers/cb-2/consents"), 400, "invalid_payload")

    def test_an_unknown_customer_is_a_404_and_writes_nothing(self, server, api, project):
        response = api.put("/v1/customers/nobody/consents", json={"a": True})

        body = assert_error(response, 404, "not_found")
        assert body["resource_type"] == "customer"
        assert consent_rows(server, project) == []

    def test_the_longest_id_and_the_most_consents_are_accepted(self, api: httpx.Client):
        create_customer(api, source_id="cb-3")
        put_consents(api, "cb-3", {"c" * 512: True, **{f"c{i}": True for i in range(99)}})
        assert len(shown(api, "cb-3")) == 100


class TestTenancy:
    def test_another_projects_keys_get_404_and_see_nothing(
        self, server, api, other_api, other_project
    ):
        mine = create_customer(api, source_id="ct-1")
        put_consents(api, mine["id"], {"cnst_mine": True})

        for ref in (mine["id"], "ct-1"):
            response = other_api.put(f"/v1/customers/{ref}/consents", json={"x": True})
            assert_error(response, 404, "not_found")
        assert other_api.get("/v1/consents").json()["consents"]["total"] == 0
        assert consent_rows(server, other_project) == []
        assert shown(api, "ct-1") == {"cnst_mine": True}


class TestErasure:
    def test_consents_and_custom_events_go_with_the_customer(self, api, server):
        person = create_customer(api, source_id="ce-gone", email="gone@example.org")
        other = create_customer(api, source_id="ce-stays")
        put_consents(api, "ce-gone", {"cnst_erased": True, "unsubscribed": False})
        put_consents(api, "ce-stays", {"cnst_kept": True})
        tracked = api.post(
            "/v1/events", json={"event": "ev_erased", "customer": {"source_id": "ce-gone"}}
        )
        assert tracked.status_code == 200, tracked.text
        needles = [person["id"], "ce-gone", "gone@example.org"]
        assert _rows_mentioning(server.backend, needles)

        response = api.post("/v1/customers/ce-gone/permanent-deletion")

        assert response.status_code == 200, response.text
        assert response.json()["data_json"]["consents"] == 2
        assert _rows_mentioning(server.backend, needles) == []
        assert shown(api, other["id"]) == {"cnst_kept": True}
        assert [c["id"] for c in api.get("/v1/consents").json()["consents"]["data"]] == [
            "cnst_kept"
        ]
