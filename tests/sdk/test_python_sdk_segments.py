"""Segments through the official Python SDK: SegmentsApi, customer segments, members, events.

Every response must parse into the SDK's strict models (segment `type`, `object`,
`initial_sync_status`, SimpleSegment, activity `type` enums).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import voucherify
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException

pytestmark = pytest.mark.sdk

# Voucherify's filter format: address.* and metadata.* fields, arrays and scalars, any-case
# junction.
GOLD = {
    "junction": "and",
    "address.country": {"conditions": {"$in": ["PL", "CZ"]}},
    "metadata.tier": {"conditions": {"$is": "gold"}},
    "metadata.visits": {"conditions": {"$more_than": ["3"]}},
}
KRAKOW_OR_VIP = {
    "junction": "OR",
    "address.city": {"conditions": {"$starts_with": ["Kra"]}},
    "metadata.vip": {"conditions": {"$is": [True]}},
}
NO_EMAIL = {"email": {"conditions": {"$is_unknown": True}}}


def segments_api(sdk) -> voucherify.SegmentsApi:
    """A SegmentsApi on the same (recording, authenticated) client as the fixture's CustomersApi."""
    return voucherify.SegmentsApi(sdk.customers.api_client)


def error_body(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def create_segment(sdk, **body: Any) -> voucherify.SegmentsCreateResponseBody:
    seg = segments_api(sdk).create_segment(voucherify.SegmentsCreateRequestBody(**body))
    assert isinstance(seg, voucherify.SegmentsCreateResponseBody)
    assert sdk.last.method == "POST"
    assert sdk.last.url.endswith("/v1/segments")
    assert sdk.last.body == body
    return seg


def make_customer(
    sdk, source_id: str, *, address: dict[str, str] | None = None, **metadata: Any
) -> voucherify.CustomersCreateResponseBody:
    return sdk.customers.create_customer(
        voucherify.CustomersCreateRequestBody(
            source_id=source_id,
            name=source_id.title(),
            address=voucherify.CustomersCreateRequestBodyAddress(**address) if address else None,
            metadata=metadata or None,
        )
    )


def update(sdk, ref: str, **fields: Any) -> None:
    if isinstance(fields.get("address"), dict):
        fields["address"] = voucherify.CustomersUpdateRequestBodyAddress(**fields["address"])
    sdk.customers.update_customer(ref, voucherify.CustomersUpdateRequestBody(**fields))


def members(sdk, segment_id: str) -> set[str]:
    body = sdk.customers.list_customers(segment_id=segment_id, limit=100)
    assert isinstance(body, voucherify.CustomersListResponseBody)
    assert body.object == "list"
    assert body.data_ref == "customers"
    assert body.total == len(body.customers)
    assert all(c.object == "customer" for c in body.customers)
    return {c.source_id for c in body.customers}


def customer_segments(sdk, ref: str) -> voucherify.CustomersSegmentsListResponseBody:
    body = sdk.customers.list_customer_segments(ref)
    assert isinstance(body, voucherify.CustomersSegmentsListResponseBody)
    assert body.object == "list"
    assert body.data_ref == "data"
    assert body.total == len(body.data)
    for item in body.data:
        assert isinstance(item, voucherify.SimpleSegment)
        assert item.object == "segment"
        assert item.id.startswith("seg_")
        assert item.name
    return body


def segment_events(sdk, ref: str) -> list[tuple[str, str]]:
    """Entered/left events of a customer, oldest first, as (type, segment name)."""
    body = sdk.customers.list_customer_activity(ref, order="created_at", limit=100)
    assert body.has_more is False
    return [
        (e.type, e.data["data"]["segment"]["name"])
        for e in body.data
        if e.type.startswith("customer.segment.")
    ]


def assert_segment(seg, *, name: str, type_: str, filter_: dict[str, Any] | None) -> None:
    assert seg.id.startswith("seg_")
    assert seg.object == "segment"
    assert seg.name == name
    assert seg.type == type_
    assert seg.filter == filter_
    assert isinstance(seg.created_at, datetime)
    assert seg.created_at.tzinfo is not None
    assert seg.updated_at is None
    # The server evaluates the first sync inside the create request.
    assert seg.initial_sync_status == "DONE"


class TestCrud:
    def test_static_segment_with_customer_ids(self, sdk) -> None:
        a = make_customer(sdk, "st-a")
        b = make_customer(sdk, "st-b")
        make_customer(sdk, "st-outsider")
        seg = create_segment(sdk, name="VIP list", type="static", customers=[a.id, b.id])
        assert_segment(seg, name="VIP list", type_="static", filter_=None)
        got = segments_api(sdk).get_segment(seg.id)
        assert isinstance(got, voucherify.SegmentsGetResponseBody)
        assert got.to_dict() == seg.to_dict()
        assert members(sdk, seg.id) == {"st-a", "st-b"}

    @pytest.mark.parametrize("type_", ["auto-update", "passive"])
    @pytest.mark.parametrize("filter_", [GOLD, KRAKOW_OR_VIP], ids=["and", "or"])
    def test_rule_segment_round_trips_filter(self, sdk, type_, filter_) -> None:
        seg = create_segment(sdk, name="Rule", type=type_, filter=filter_)
        assert_segment(seg, name="Rule", type_=type_, filter_=filter_)
        got = segments_api(sdk).get_segment(seg.id)
        assert isinstance(got, voucherify.SegmentsGetResponseBody)
        assert got.to_dict() == seg.to_dict()
        assert sdk.last.method == "GET"
        assert sdk.last.url.endswith(f"/v1/segments/{seg.id}")

    def test_delete_then_404(self, sdk) -> None:
        seg = create_segment(sdk, name="Doomed", type="passive", filter=GOLD)
        keep = create_segment(sdk, name="Kept", type="passive", filter=GOLD)
        assert segments_api(sdk).delete_segment(seg.id) is None
        assert sdk.last.method == "DELETE"
        with pytest.raises(NotFoundException) as raised:
            segments_api(sdk).get_segment(seg.id)
        assert raised.value.status == 404
        body = error_body(raised.value)
        assert body["code"] == 404
        assert body["key"] == "not_found"
        assert body["resource_type"] == "segment"
        assert body["resource_id"] == seg.id
        with pytest.raises(NotFoundException):
            segments_api(sdk).delete_segment(seg.id)
        with pytest.raises(NotFoundException):
            sdk.customers.list_customers(segment_id=seg.id)
        assert segments_api(sdk).get_segment(keep.id).name == "Kept"

    def test_list_segments(self, sdk) -> None:
        # WIRE-FORMAT §5.4: GET /v1/segments is newer than SDK 6.1.1, which has no method for it.
        api = segments_api(sdk)
        method = next(
            (getattr(api, n) for n in ("list_segments", "list_segment", "list") if hasattr(api, n)),
            None,
        )
        if method is None:
            pytest.skip("voucherify 6.1.1 SegmentsApi has no list method")
        first = create_segment(sdk, name="one", type="passive", filter=GOLD)
        second = create_segment(sdk, name="two", type="passive", filter=GOLD)
        body = method()
        assert [s.id for s in body.data] == [second.id, first.id]

    def test_other_project_gets_404(self, sdk, other_sdk) -> None:
        mine = make_customer(sdk, "mine", address={"country": "PL"}, tier="gold", visits=9)
        seg = create_segment(sdk, name="Mine", type="auto-update", filter=GOLD)
        theirs = segments_api(other_sdk)
        with pytest.raises(NotFoundException) as raised:
            theirs.get_segment(seg.id)
        assert error_body(raised.value)["key"] == "not_found"
        with pytest.raises(NotFoundException):
            theirs.delete_segment(seg.id)
        with pytest.raises(NotFoundException):
            other_sdk.customers.list_customers(segment_id=seg.id)
        # To them my customer is unknown, and they have no segments it could qualify for.
        assert customer_segments(other_sdk, mine.id).data == []
        # Still there for its owner.
        assert segments_api(sdk).get_segment(seg.id).id == seg.id
        assert members(sdk, seg.id) == {"mine"}

    def test_static_segment_cannot_name_another_projects_customer(self, sdk, other_sdk) -> None:
        theirs = make_customer(other_sdk, "theirs")
        with pytest.raises(BadRequestException) as raised:
            create_segment(sdk, name="x", type="static", customers=[theirs.id])
        assert error_body(raised.value)["key"] == "invalid_payload"

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "n", "type": "passive", "filter": {"junction": "and"}},
            {"name": "n", "type": "auto-update", "filter": {"email": {"conditions": {"$nope": 1}}}},
            {"name": "n", "type": "passive", "filter": {"shoe_size": {"conditions": {"$is": 1}}}},
            {"name": "n", "type": "passive", "filter": {"metadata.tier": {"$is": "gold"}}},
            {"name": "n", "type": "auto-update", "filter": {"junction": "xor", **NO_EMAIL}},
            {"name": "n", "type": "passive"},
        ],
        ids=["no-fields", "bad-op", "bad-field", "no-conditions", "bad-junction", "no-filter"],
    )
    def test_invalid_filter_is_400_invalid_payload(self, sdk, api, body) -> None:
        with pytest.raises(BadRequestException) as raised:
            create_segment(sdk, **body)
        assert raised.value.status == 400
        error = error_body(raised.value)
        assert error["code"] == 400
        assert error["key"] == "invalid_payload"
        assert error["message"]
        assert ".filter" in error["details"]
        # Nothing was created (the SDK cannot list segments; ask the API directly).
        assert api.get("/v1/segments").json()["total"] == 0


class TestMembership:
    @pytest.fixture
    def people(self, sdk) -> None:
        make_customer(
            sdk, "pl-gold", address={"country": "PL", "city": "Gdansk"}, tier="gold", visits=5
        )
        make_customer(sdk, "pl-silver", address={"country": "PL"}, tier="silver", visits=5)
        make_customer(sdk, "de-gold", address={"country": "DE", "city": "Kraichtal"}, tier="gold")
        make_customer(sdk, "vip", vip=True)

    @pytest.mark.parametrize("type_", ["auto-update", "passive"])
    def test_members_listed_and_follow_updates(self, sdk, people, type_) -> None:
        gold = create_segment(sdk, name="gold", type=type_, filter=GOLD)
        either = create_segment(sdk, name="either", type=type_, filter=KRAKOW_OR_VIP)
        assert members(sdk, gold.id) == {"pl-gold"}
        assert members(sdk, either.id) == {"de-gold", "vip"}
        update(sdk, "pl-silver", metadata={"tier": "gold", "visits": 4})
        update(sdk, "vip", metadata={"vip": False})
        assert members(sdk, gold.id) == {"pl-gold", "pl-silver"}
        assert members(sdk, either.id) == {"de-gold"}

    def test_customer_segments_member_and_non_member(self, sdk, people) -> None:
        auto = create_segment(sdk, name="auto", type="auto-update", filter=GOLD)
        passive = create_segment(sdk, name="passive", type="passive", filter=GOLD)
        either = create_segment(sdk, name="either", type="passive", filter=KRAKOW_OR_VIP)
        static = create_segment(sdk, name="static", type="static", customers=["de-gold"])
        member = customer_segments(sdk, "pl-gold")
        assert {s.id for s in member.data} == {auto.id, passive.id}
        assert {s.name for s in member.data} == {"auto", "passive"}
        assert sdk.last.url.endswith("/v1/customers/pl-gold/segments")
        by_id = customer_segments(sdk, sdk.customers.get_customer("pl-gold").id)
        assert {s.id for s in by_id.data} == {auto.id, passive.id}
        de = customer_segments(sdk, "de-gold")
        assert {s.id for s in de.data} == {either.id, static.id}
        assert customer_segments(sdk, "pl-silver").data == []
        assert customer_segments(sdk, "pl-silver").total == 0

    def test_unknown_customer_gets_segments_it_would_qualify_for(self, sdk, people) -> None:
        no_email = create_segment(sdk, name="no email", type="passive", filter=NO_EMAIL)
        no_tier = create_segment(
            sdk,
            name="no tier",
            type="auto-update",
            filter={"metadata.tier": {"conditions": {"$is_unknown": [True]}}},
        )
        create_segment(sdk, name="gold", type="auto-update", filter=GOLD)
        create_segment(sdk, name="static", type="static", customers=["pl-gold"])
        body = customer_segments(sdk, "never-seen")
        assert {s.id for s in body.data} == {no_email.id, no_tier.id}
        # Asking did not create the customer.
        with pytest.raises(NotFoundException):
            sdk.customers.get_customer("never-seen")


class TestEvents:
    def test_entered_and_left_exactly_once_per_change(self, sdk) -> None:
        create_segment(sdk, name="Gold in PL", type="auto-update", filter=GOLD)
        create_segment(sdk, name="quiet", type="passive", filter=GOLD)
        make_customer(sdk, "c", address={"country": "PL"}, tier="silver", visits=7)
        update(sdk, "c", metadata={"tier": "gold", "visits": 7})  # enters
        update(sdk, "c", name="Same segment")  # no change
        update(sdk, "c", metadata={"tier": "gold", "visits": 8})  # still in
        update(sdk, "c", address={"country": "DE"})  # leaves
        update(sdk, "c", phone="+48 1")  # no change
        update(sdk, "c", address={"country": "CZ"})  # enters
        update(sdk, "c", metadata={"tier": "gold", "visits": 2})  # leaves
        assert segment_events(sdk, "c") == [
            ("customer.segment.entered", "Gold in PL"),
            ("customer.segment.left", "Gold in PL"),
            ("customer.segment.entered", "Gold in PL"),
            ("customer.segment.left", "Gold in PL"),
        ]
        entered = sdk.customers.list_customer_activity("c", type="customer.segment.entered")
        assert [e.type for e in entered.data] == ["customer.segment.entered"] * 2
        left = sdk.customers.list_customer_activity("c", type="customer.segment.left")
        assert [e.type for e in left.data] == ["customer.segment.left"] * 2
        event = entered.data[0]
        assert event.data["data"]["segment"]["object"] == "segment"
        assert event.data["data"]["segment"]["id"].startswith("seg_")
        assert event.data["event_source"] == {"channel": "INTERNAL"}
        effects = sdk.customers.list_customer_activity("c", category="EFFECT", limit=100)
        assert len(effects.data) == 4

    def test_passive_segments_emit_nothing(self, sdk) -> None:
        passive = create_segment(sdk, name="quiet", type="passive", filter=GOLD)
        make_customer(sdk, "p", address={"country": "PL"}, tier="gold", visits=9)
        assert members(sdk, passive.id) == {"p"}
        update(sdk, "p", address={"country": "DE"})
        update(sdk, "p", address={"country": "PL"})
        assert segment_events(sdk, "p") == []
        for type_ in ("customer.segment.entered", "customer.segment.left"):
            assert sdk.customers.list_customer_activity("p", type=type_).data == []

    def test_initial_sync_adds_members_without_events(self, sdk) -> None:
        make_customer(sdk, "early", address={"country": "PL"}, tier="gold", visits=9)
        seg = create_segment(sdk, name="late", type="auto-update", filter=GOLD)
        assert members(sdk, seg.id) == {"early"}
        assert [s.id for s in customer_segments(sdk, "early").data] == [seg.id]
        assert segment_events(sdk, "early") == []
        update(sdk, "early", metadata={"tier": "none"})
        assert segment_events(sdk, "early") == [("customer.segment.left", "late")]

    def test_deleted_segment_emits_nothing_more(self, sdk) -> None:
        seg = create_segment(sdk, name="gone", type="auto-update", filter=GOLD)
        make_customer(sdk, "d", address={"country": "PL"}, tier="gold", visits=9)
        segments_api(sdk).delete_segment(seg.id)
        assert customer_segments(sdk, "d").data == []
        update(sdk, "d", metadata={"tier": "none"})
        assert segment_events(sdk, "d") == [("customer.segment.entered", "gone")]
