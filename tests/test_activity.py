"""GET /v1/customers/{id}/activity and the deprecated /activities."""

from __future__ import annotations

import json
import re

import pytest

from tests.factories import create_customer, upload_csv, wait_done
from tests.helpers import assert_error

EVCUS = re.compile(r"^evcus_[0-9a-f]{18}$")


def activity(api, ref: str, **params) -> dict:
    response = api.get(f"/v1/customers/{ref}/activity", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestEvents:
    def test_create_update_delete_sequence(self, api, project) -> None:
        created = api.post("/v1/customers", json={"source_id": "a1", "name": "Ada"})
        api.put("/v1/customers/a1", json={"email": "ada@x.org"})
        api.post("/v1/customers", json={"source_id": "a1", "phone": "123"})
        body = activity(api, "a1")
        assert body["object"] == "list"
        assert body["data_ref"] == "data"
        assert body["has_more"] is False
        assert "total" not in body
        assert [e["type"] for e in body["data"]] == [
            "customer.updated",
            "customer.updated",
            "customer.created",
        ]
        first = body["data"][-1]
        assert EVCUS.match(first["id"])
        assert first["group_id"] == created.headers["x-request-id"]
        assert first["data"]["data"]["customer"]["name"] == "Ada"
        assert "email" not in first["data"]["data"]["customer"]  # snapshot at the time
        assert body["data"][1]["data"]["data"]["customer"]["email"] == "ada@x.org"
        assert first["data"]["event_source"] == {
            "channel": "API",
            "api_key": {"name": "Backend", "app_id": project.app_id},
        }

    def test_deleted_customer_is_404_but_events_stay_recorded(self, api, server, project) -> None:
        c = create_customer(api, source_id="gone")
        api.delete("/v1/customers/gone")
        assert_error(api.get("/v1/customers/gone/activity"), 404, "not_found")
        import asyncio

        from patrons.db import database

        async def types() -> list[str]:
            db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
            try:
                rows = await db.fetch(
                    "SELECT type FROM customer_event WHERE project_id = $1 AND customer_id = $2"
                    " ORDER BY created_at, type",
                    project.id,
                    c["id"],
                )
                return [r["type"] for r in rows]
            finally:
                await db.close()

        assert asyncio.run(types()) == ["customer.created", "customer.deleted"]

    def test_bulk_and_csv_writes_record_events(self, api) -> None:
        create_customer(api, source_id="old")
        action = api.post(
            "/v1/customers/bulk/async",
            json=[{"source_id": "old", "name": "X"}, {"source_id": "new", "name": "Y"}],
        )
        wait_done(api, action.json()["async_action_id"])
        assert [e["type"] for e in activity(api, "old")["data"]] == [
            "customer.updated",
            "customer.created",
        ]
        new_events = activity(api, "new")["data"]
        assert [e["type"] for e in new_events] == ["customer.created"]
        assert new_events[0]["group_id"] == action.headers["x-request-id"]
        assert new_events[0]["data"]["data"]["customer"]["name"] == "Y"
        wait_done(api, upload_csv(api, "Source_id,Name\nnew,Z\n").json()["async_action_id"])
        assert activity(api, "new")["data"][0]["data"]["data"]["customer"]["name"] == "Z"

    def test_bulk_created_snapshots_render_as_the_customer(self, api) -> None:
        """Events of customers a bulk job creates (COPYed with their snapshots on PostgreSQL,
        whose snapshot column keeps the text as written) show the customer's metadata exactly
        as GET shows it: the same keys in the same order, the same numbers."""
        csv_text = "Source_id,signup_channel,tier,bb,a\nsnap-csv,web,gold,2,1\n"
        wait_done(api, upload_csv(api, csv_text).json()["async_action_id"])
        nested = {"zeta": {"b": 1, "a": [1, {"yy": 2, "x": None}]}, "ok": True, "c": "é"}
        action = api.post(
            "/v1/customers/bulk/async",
            json=[
                {"source_id": "snap-nested", "metadata": nested},
                {"source_id": "snap-float", "metadata": {"zz": 1e20, "f": 1.5, "a": -0.0}},
            ],
        )
        wait_done(api, action.json()["async_action_id"])
        for ref in ("snap-csv", "snap-nested", "snap-float"):
            shown = api.get(f"/v1/customers/{ref}").json()["metadata"]
            event = activity(api, ref)["data"][0]
            assert event["type"] == "customer.created"
            logged = event["data"]["data"]["customer"]["metadata"]
            assert json.dumps(logged) == json.dumps(shown), ref  # order and number forms too

    def test_unknown_customer_is_404(self, api) -> None:
        body = assert_error(api.get("/v1/customers/nobody/activity"), 404, "not_found")
        assert body["resource_type"] == "customer"
        assert_error(api.get("/v1/customers/nobody/activities"), 404, "not_found")

    def test_other_project_cannot_read_activity(self, api, other_api) -> None:
        c = create_customer(api, source_id="mine")
        assert other_api.get(f"/v1/customers/{c['id']}/activity").status_code == 404
        assert other_api.get("/v1/customers/mine/activity").status_code == 404


class TestPagingAndFilters:
    @pytest.fixture
    def customer(self, api) -> str:
        create_customer(api, source_id="p1")
        for i in range(6):
            api.put("/v1/customers/p1", json={"name": f"n{i}"})
        return "p1"

    def test_cursor_walks_every_event_once(self, api, customer) -> None:
        seen: list[str] = []
        params: dict = {"limit": 3}
        while True:
            body = activity(api, customer, **params)
            seen += [e["id"] for e in body["data"]]
            if not body["has_more"]:
                assert "more_starting_after" not in body
                break
            assert body["more_starting_after"] == body["data"][-1]["id"]
            params["starting_after_id"] = body["more_starting_after"]
        assert len(seen) == 7
        assert len(set(seen)) == 7
        everything = [e["id"] for e in activity(api, customer, limit=100)["data"]]
        assert seen == everything

    def test_ascending_order(self, api, customer) -> None:
        body = activity(api, customer, order="created_at", limit=100)
        assert body["data"][0]["type"] == "customer.created"
        stamps = [e["created_at"] for e in body["data"]]
        assert stamps == sorted(stamps)

    def test_type_and_category_filters(self, api, customer) -> None:
        assert len(activity(api, customer, type="customer.created")["data"]) == 1
        assert len(activity(api, customer, type="customer.updated", limit=100)["data"]) == 6
        assert len(activity(api, customer, category="ACTION", limit=100)["data"]) == 7
        assert activity(api, customer, category="EFFECT")["data"] == []
        assert activity(api, customer, campaign_id="camp_x")["data"] == []
        assert activity(api, customer, campaign_type="LOYALTY_PROGRAM")["data"] == []

    def test_date_window(self, api, customer) -> None:
        events = activity(api, customer, limit=100)["data"]
        newest = events[0]["created_at"]
        inside = activity(api, customer, start_date=newest, limit=100)["data"]
        assert events[0]["id"] in [e["id"] for e in inside]
        assert activity(api, customer, end_date="2000-01-01")["data"] == []

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": "0"},
            {"limit": "101"},
            {"order": "type"},
            {"type": "customer.consents.given"},
            {"category": "SIDE_EFFECT"},
            {"campaign_type": "NOPE"},
            {"start_date": "never"},
            {"starting_after_id": "evcus_000000000000000000"},
        ],
    )
    def test_bad_params(self, api, customer, params) -> None:
        response = api.get(f"/v1/customers/{customer}/activity", params=params)
        assert_error(response, 400, "invalid_query_params")

    def test_deprecated_activities_envelope(self, api, customer) -> None:
        body = api.get(f"/v1/customers/{customer}/activities", params={"limit": 2}).json()
        assert body["object"] == "list"
        assert body["data_ref"] == "data"
        assert body["total"] == 7
        assert "has_more" not in body
        assert len(body["data"]) == 2
        cursor = body["data"][-1]["created_at"]
        older = api.get(
            f"/v1/customers/{customer}/activities", params={"starting_after": cursor, "limit": 100}
        ).json()
        assert all(e["created_at"] < cursor for e in older["data"])
