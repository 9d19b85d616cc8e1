"""Segments API, membership listing, customer segments, entered/left events."""

from __future__ import annotations

import pytest

from tests.factories import create_customer, upload_csv, wait_done
from tests.helpers import assert_error

GOLD_PL = {
    "junction": "and",
    "address.country": {"conditions": {"$is": "PL"}},
    "metadata.tier": {"conditions": {"$in": ["gold"]}},
}


def make_segment(api, **body) -> dict:
    response = api.post("/v1/segments", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def members(api, segment_id: str) -> set[str]:
    body = api.get("/v1/customers", params={"segment_id": segment_id, "limit": 100}).json()
    assert body["total"] == len(body["customers"])
    return {c["source_id"] for c in body["customers"]}


def segment_events(api, ref: str) -> list[tuple[str, str]]:
    events = api.get(f"/v1/customers/{ref}/activity", params={"limit": 100}).json()["data"]
    return [
        (e["type"], e["data"]["data"]["segment"]["name"])
        for e in reversed(events)
        if e["type"].startswith("customer.segment.")
    ]


class TestCrud:
    def test_static_segment(self, api) -> None:
        a = create_customer(api, source_id="a")
        create_customer(api, source_id="b")
        seg = make_segment(api, name="VIP", type="static", customers=[a["id"], "b"])
        assert seg["id"].startswith("seg_")
        assert seg["object"] == "segment"
        assert seg["type"] == "static"
        assert seg["filter"] is None
        assert seg["initial_sync_status"] == "DONE"
        assert api.get(f"/v1/segments/{seg['id']}").json() == seg
        assert members(api, seg["id"]) == {"a", "b"}

    def test_rule_segment_round_trips_filter(self, api) -> None:
        seg = make_segment(api, name="Gold in PL", type="auto-update", filter=GOLD_PL)
        assert seg["filter"] == GOLD_PL
        assert seg["type"] == "auto-update"

    def test_list_and_delete(self, api) -> None:
        first = make_segment(api, name="one", type="passive", filter=GOLD_PL)
        second = make_segment(api, name="two", type="passive", filter=GOLD_PL)
        body = api.get("/v1/segments").json()
        assert body["object"] == "list"
        assert body["data_ref"] == "data"
        assert body["total"] == 2
        # Newest first; two segments made in the same millisecond are ordered by id.
        newest_first = sorted((first, second), key=lambda s: (s["created_at"], s["id"]))[::-1]
        assert [s["id"] for s in body["data"]] == [s["id"] for s in newest_first]
        assert api.delete(f"/v1/segments/{first['id']}").status_code == 204
        assert_error(api.get(f"/v1/segments/{first['id']}"), 404, "not_found")
        assert_error(api.delete(f"/v1/segments/{first['id']}"), 404, "not_found")
        assert api.get("/v1/segments").json()["total"] == 1

    @pytest.mark.parametrize(
        "body",
        [
            {"type": "static", "customers": ["x"]},
            {"name": "n", "type": "dynamic", "filter": GOLD_PL},
            {"name": "n", "type": "static"},
            {"name": "n", "type": "static", "customers": []},
            {"name": "n", "type": "static", "customers": ["nobody"]},
            {"name": "n", "type": "auto-update"},
            {"name": "n", "type": "passive", "filter": {"junction": "and"}},
            {"name": "n", "type": "passive", "filter": {"email": {"conditions": {"$nope": 1}}}},
            {"name": "n", "type": "passive", "filter": {"shoe_size": {"conditions": {"$is": 1}}}},
            {"name": "", "type": "passive", "filter": GOLD_PL},
        ],
    )
    def test_invalid_segments_are_400_and_not_created(self, api, body) -> None:
        assert_error(api.post("/v1/segments", json=body), 400, "invalid_payload")
        assert api.get("/v1/segments").json()["total"] == 0

    def test_unknown_segment_is_404(self, api) -> None:
        body = assert_error(api.get("/v1/segments/seg_nope"), 404, "not_found")
        assert body["resource_type"] == "segment"
        assert_error(api.get("/v1/customers", params={"segment_id": "seg_nope"}), 404, "not_found")

    def test_other_project_cannot_see_segments(self, api, other_api) -> None:
        seg = make_segment(api, name="mine", type="passive", filter=GOLD_PL)
        assert other_api.get(f"/v1/segments/{seg['id']}").status_code == 404
        assert other_api.delete(f"/v1/segments/{seg['id']}").status_code == 404
        assert other_api.get("/v1/segments").json()["total"] == 0
        assert other_api.get("/v1/customers", params={"segment_id": seg["id"]}).status_code == 404

    def test_static_list_cannot_name_another_projects_customers(self, api, other_api) -> None:
        theirs = create_customer(other_api, source_id="theirs")
        response = api.post(
            "/v1/segments", json={"name": "x", "type": "static", "customers": [theirs["id"]]}
        )
        assert_error(response, 400, "invalid_payload")


class TestMembership:
    @pytest.fixture
    def people(self, api) -> None:
        create_customer(
            api, source_id="pl-gold", address={"country": "PL"}, metadata={"tier": "gold"}
        )
        create_customer(
            api, source_id="pl-silver", address={"country": "PL"}, metadata={"tier": "silver"}
        )
        create_customer(
            api, source_id="de-gold", address={"country": "DE"}, metadata={"tier": "gold"}
        )

    @pytest.mark.parametrize("type_", ["auto-update", "passive"])
    def test_rule_members_listed(self, api, people, type_) -> None:
        seg = make_segment(api, name="g", type=type_, filter=GOLD_PL)
        assert members(api, seg["id"]) == {"pl-gold"}
        api.put("/v1/customers/pl-silver", json={"metadata": {"tier": "gold"}})
        assert members(api, seg["id"]) == {"pl-gold", "pl-silver"}

    def test_customer_segments(self, api, people) -> None:
        auto = make_segment(api, name="auto", type="auto-update", filter=GOLD_PL)
        passive = make_segment(api, name="passive", type="passive", filter=GOLD_PL)
        static = make_segment(api, name="static", type="static", customers=["de-gold"])
        body = api.get("/v1/customers/pl-gold/segments").json()
        assert body["object"] == "list"
        assert body["data_ref"] == "data"
        assert {s["id"] for s in body["data"]} == {auto["id"], passive["id"]}
        assert body["total"] == 2
        assert all(set(s) == {"id", "name", "object"} for s in body["data"])
        de = api.get("/v1/customers/de-gold/segments").json()
        assert [s["id"] for s in de["data"]] == [static["id"]]

    def test_unknown_customer_gets_segments_it_would_qualify_for(self, api) -> None:
        unknown = make_segment(
            api,
            name="no email",
            type="passive",
            filter={"email": {"conditions": {"$is_unknown": True}}},
        )
        make_segment(api, name="gold", type="passive", filter=GOLD_PL)
        response = api.get("/v1/customers/never-seen/segments")
        assert response.status_code == 200
        assert [s["id"] for s in response.json()["data"]] == [unknown["id"]]

    def test_entered_and_left_exactly_once_per_change(self, api) -> None:
        make_segment(api, name="Gold in PL", type="auto-update", filter=GOLD_PL)
        make_segment(api, name="quiet", type="passive", filter=GOLD_PL)
        create_customer(api, source_id="c", address={"country": "PL"}, metadata={"tier": "silver"})
        api.put("/v1/customers/c", json={"metadata": {"tier": "gold"}})  # enters
        api.put("/v1/customers/c", json={"name": "Same segment"})  # no change
        api.put("/v1/customers/c", json={"address": {"country": "DE"}})  # leaves
        api.put("/v1/customers/c", json={"phone": "1"})  # no change
        api.post("/v1/customers", json={"source_id": "c", "address": {"country": "PL"}})  # enters
        assert segment_events(api, "c") == [
            ("customer.segment.entered", "Gold in PL"),
            ("customer.segment.left", "Gold in PL"),
            ("customer.segment.entered", "Gold in PL"),
        ]
        entered = api.get(
            "/v1/customers/c/activity", params={"type": "customer.segment.entered"}
        ).json()["data"][0]
        assert entered["data"]["event_source"] == {"channel": "INTERNAL"}
        effects = api.get("/v1/customers/c/activity", params={"category": "EFFECT", "limit": 100})
        assert len(effects.json()["data"]) == 3

    def test_created_matching_customer_enters(self, api) -> None:
        make_segment(api, name="Gold in PL", type="auto-update", filter=GOLD_PL)
        create_customer(api, source_id="n", address={"country": "PL"}, metadata={"tier": "gold"})
        assert segment_events(api, "n") == [("customer.segment.entered", "Gold in PL")]

    def test_initial_sync_adds_members_without_events(self, api, people) -> None:
        seg = make_segment(api, name="late", type="auto-update", filter=GOLD_PL)
        assert api.get("/v1/customers/pl-gold/segments").json()["data"][0]["id"] == seg["id"]
        assert segment_events(api, "pl-gold") == []
        api.put("/v1/customers/pl-gold", json={"metadata": {"tier": "none"}})
        assert segment_events(api, "pl-gold") == [("customer.segment.left", "late")]

    def test_bulk_and_csv_writes_keep_membership(self, api) -> None:
        make_segment(api, name="Gold in PL", type="auto-update", filter=GOLD_PL)
        action = api.post(
            "/v1/customers/bulk/async",
            json=[
                {"source_id": "b1", "address": {"country": "PL"}, "metadata": {"tier": "gold"}},
                {"source_id": "b2", "address": {"country": "PL"}},
            ],
        ).json()["async_action_id"]
        wait_done(api, action)
        assert segment_events(api, "b1") == [("customer.segment.entered", "Gold in PL")]
        assert segment_events(api, "b2") == []
        meta = api.post(
            "/v1/customers/metadata/async",
            json={"source_ids": ["b2"], "metadata": {"tier": "gold"}},
        ).json()["async_action_id"]
        wait_done(api, meta)
        assert segment_events(api, "b2") == [("customer.segment.entered", "Gold in PL")]
        csv = "Source_id,Country,tier\nb1,PL,silver\n"
        wait_done(api, upload_csv(api, csv).json()["async_action_id"])
        assert segment_events(api, "b1")[-1] == ("customer.segment.left", "Gold in PL")

    def test_deleting_a_segment_removes_memberships(self, api, people) -> None:
        seg = make_segment(api, name="auto", type="auto-update", filter=GOLD_PL)
        api.delete(f"/v1/segments/{seg['id']}")
        assert api.get("/v1/customers/pl-gold/segments").json()["data"] == []
        api.put("/v1/customers/pl-gold", json={"metadata": {"tier": "none"}})
        assert segment_events(api, "pl-gold") == []
