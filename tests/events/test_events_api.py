"""POST /v1/events over HTTP on both databases (issue 18): the customer by id, source_id or
inline data (upserted as POST /v1/customers would), `customer.custom_event` in the customer's
activity (type filter and the legacy list), the response, tenant walls and bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import create_customer, db_fetch
from tests.helpers import assert_error


def track(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/events", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def activity(api: httpx.Client, ref: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{ref}/activity", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def event_rows(server: Any, project: Any) -> list[dict[str, Any]]:
    return db_fetch(
        server.backend.url,
        "SELECT customer_id, type FROM customer_event WHERE project_id = $1",
        project.id,
    )


def customer_rows(server: Any, project: Any) -> list[dict[str, Any]]:
    return db_fetch(server.backend.url, "SELECT id FROM customer WHERE project_id = $1", project.id)


class TestTrack:
    def test_the_answer_and_the_activity_for_a_known_customer(self, api: httpx.Client):
        known = create_customer(api, source_id="ev-1", name="Ada", email="ada@example.com")

        response = api.post(
            "/v1/events",
            json={
                "event": "cart_abandoned",
                "customer": {"source_id": "ev-1"},
                "metadata": {"flag": True, "number": 1, "text": "left"},
                "loyalty": {"code": "L-1"},
                "referral": {"code": "REF-1", "referrer_id": "someone"},
            },
        )

        assert response.status_code == 200, response.text
        assert response.json() == {
            "object": "event",
            "type": "cart_abandoned",
            "customer": {
                "id": known["id"],
                "source_id": "ev-1",
                "name": "Ada",
                "email": "ada@example.com",
                "metadata": {},
                "object": "customer",
            },
            "referral": None,
            "loyalty": None,
            "metadata": {"flag": True, "number": 1, "text": "left"},
        }
        events = activity(api, known["id"], type="customer.custom_event")
        assert len(events) == 1
        data = events[0]["data"]["data"]
        assert data["event"]["type"] == "cart_abandoned"
        assert data["event"]["object"] == "event"
        assert data["event"]["id"].startswith("event_")
        assert data["event"]["metadata"] == {"flag": True, "number": 1, "text": "left"}
        assert data["event"]["customer"]["id"] == known["id"]
        assert data["event"]["loyalty"] == {"code": "L-1"}
        assert data["event"]["referral"] == {"code": "REF-1", "referrer_id": "someone"}
        assert data["event_schema"] == {"name": "cart_abandoned"}
        assert data["customer"]["id"] == known["id"]
        assert (data["referral"], data["loyalty"]) == (None, None)
        assert events[0]["data"]["event_source"]["channel"] == "API"
        assert events[0]["group_id"] == response.headers["x-request-id"]

    def test_the_type_and_category_filters_find_it(self, api: httpx.Client):
        known = create_customer(api, source_id="ev-2")
        track(api, event="signed_up", customer={"id": known["id"]})

        assert [e["type"] for e in activity(api, "ev-2")] == [
            "customer.custom_event",
            "customer.created",
        ]
        assert len(activity(api, "ev-2", type="customer.custom_event")) == 1
        assert activity(api, "ev-2", type="customer.updated") == []
        assert len(activity(api, "ev-2", category="ACTION")) == 2
        legacy = api.get("/v1/customers/ev-2/activities").json()
        assert legacy["total"] == 2
        assert "customer.custom_event" in [e["type"] for e in legacy["data"]]

    def test_an_inline_new_customer_is_created_with_its_event(self, api: httpx.Client):
        body = track(
            api,
            event="visited",
            customer={"source_id": "ev-new", "name": "Grace", "metadata": {"tier": "gold"}},
        )

        made = api.get("/v1/customers/ev-new").json()
        assert body["customer"]["id"] == made["id"]
        assert body["customer"]["metadata"] == {"tier": "gold"}
        assert made["name"] == "Grace"
        assert sorted(e["type"] for e in activity(api, "ev-new")) == [
            "customer.created",
            "customer.custom_event",
        ]
        assert api.get("/v1/customers").json()["total"] == 1

    def test_profile_fields_update_a_known_customer(self, api: httpx.Client):
        create_customer(api, source_id="ev-upd", name="Old")

        body = track(api, event="moved", customer={"source_id": "ev-upd", "name": "New"})

        assert body["customer"]["name"] == "New"
        assert api.get("/v1/customers/ev-upd").json()["name"] == "New"
        assert sorted(e["type"] for e in activity(api, "ev-upd")) == [
            "customer.created",
            "customer.custom_event",
            "customer.updated",
        ]

    def test_an_auto_update_segment_sees_the_inline_customer(self, api: httpx.Client):
        segment = api.post(
            "/v1/segments",
            json={
                "name": "gold",
                "type": "auto-update",
                "filter": {"junction": "and", "metadata.tier": {"conditions": {"$is": "gold"}}},
            },
        )
        assert segment.status_code == 200, segment.text

        track(api, event="joined", customer={"source_id": "ev-seg", "metadata": {"tier": "gold"}})

        assert "customer.segment.entered" in [e["type"] for e in activity(api, "ev-seg")]

    def test_each_event_is_recorded(self, api: httpx.Client):
        for name in ("a", "b", "a"):
            track(api, event=name, customer={"source_id": "ev-many"})

        names = [
            e["data"]["data"]["event"]["type"]
            for e in activity(api, "ev-many", type="customer.custom_event", order="created_at")
        ]
        assert names == ["a", "b", "a"]


class TestBadInput:
    def test_an_unknown_customer_id_is_a_404_and_writes_nothing(self, server, api, project):
        response = api.post("/v1/events", json={"event": "x", "customer": {"id": "cust_nobody"}})

        body = assert_error(response, 404, "not_found")
        assert body["resource_type"] == "customer"
        assert event_rows(server, project) == []

    @pytest.mark.parametrize(
        "body",
        [
            {"customer": {"source_id": "bad-ev"}},  # no event
            {"event": "", "customer": {"source_id": "bad-ev"}},
            {"event": "e" * 301, "customer": {"source_id": "bad-ev"}},
            {"event": 5, "customer": {"source_id": "bad-ev"}},
            {"event": "x"},  # no customer
            {"event": "x", "customer": {}},
            {"event": "x", "customer": "bad-ev"},
            {"event": "x", "customer": {"source_id": "bad-ev"}, "metadata": [1]},
            {"event": "x", "customer": {"source_id": "bad-ev"}, "metadata": {"k": "v" * 70000}},
            {"event": "x", "customer": {"source_id": "bad-ev"}, "metadata": {"k" * 300: 1}},
            {
                "event": "x",
                "customer": {"source_id": "bad-ev"},
                "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
            },
            {"event": "x", "customer": {"source_id": "bad-ev"}, "referral": {}},
            {"event": "x", "customer": {"source_id": "bad-ev"}, "loyalty": {"code": 5}},
            {"event": "x", "customer": {"source_id": "bad-ev", "metadata": {"k" * 300: 1}}},
            {"event": "x", "customer": {"source_id": "s" * 600}},
        ],
    )
    def test_is_a_400_and_writes_nothing(self, server, api, project, body):
        response = api.post("/v1/events", json=body)

        assert_error(response, 400, "invalid_payload")
        assert event_rows(server, project) == []
        assert customer_rows(server, project) == []

    def test_a_body_that_is_not_json_is_a_400(self, api: httpx.Client):
        response = api.post(
            "/v1/events", content=b"event=x", headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "invalid_payload")

    def test_the_longest_name_is_accepted(self, api: httpx.Client):
        name = "e" * 300
        assert track(api, event=name, customer={"source_id": "ev-long"})["type"] == name


class TestTenancy:
    def test_another_projects_customer_is_a_404(self, api, other_api, server, other_project):
        mine = create_customer(api, source_id="ev-mine")

        response = other_api.post("/v1/events", json={"event": "x", "customer": {"id": mine["id"]}})

        assert_error(response, 404, "not_found")
        assert event_rows(server, other_project) == []
        assert activity(api, mine["id"], type="customer.custom_event") == []

    def test_a_source_id_names_each_projects_own_customer(self, api, other_api):
        mine = create_customer(api, source_id="ev-shared")

        theirs = track(other_api, event="x", customer={"source_id": "ev-shared"})

        assert theirs["customer"]["id"] != mine["id"]
        assert activity(api, "ev-shared", type="customer.custom_event") == []
