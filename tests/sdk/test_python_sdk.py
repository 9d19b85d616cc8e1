"""Every customer call through the official Python SDK (voucherify==6.1.1) against a live server.

The SDK's pydantic models parse every response strictly (types, the `object` enum), so each call
here is also a parse check. Assertions use the SDK's typed attributes, never raw JSON, except for
the error bodies the SDK hands back as text.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import voucherify
from voucherify import (
    CustomersCreateRequestBody,
    CustomersCreateRequestBodyAddress,
    CustomersUpdateRequestBody,
    CustomersUpdateRequestBodyAddress,
)
from voucherify.exceptions import (
    ApiException,
    BadRequestException,
    NotFoundException,
    UnauthorizedException,
)

from tests.factories import seed_customers
from tests.sdk.conftest import Sdk, make_sdk

pytestmark = pytest.mark.sdk

CUST_ID = re.compile(r"cust_[A-Za-z0-9]{24}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the JS SDK's scroll() seeds, reused here
YEAR_2200 = datetime(2200, 1, 1, tzinfo=UTC)
UNAUTHORIZED = {"code": 401, "key": "unauthorized", "message": "Unauthorized"}
TRICKY_SOURCE_IDS = [
    "crm/42/a",
    "ada@example.org",
    "a+b",
    "with space",
    "café-ñ-日本",
    "a b/c@x.com+1?#%&=",
    "cust_not_an_id",
    "emoji 🙂/ü",
]


def create(sdk: Sdk, **fields):
    return sdk.customers.create_customer(CustomersCreateRequestBody(**fields))


def update(sdk: Sdk, ref: str, **fields):
    return sdk.customers.update_customer(ref, CustomersUpdateRequestBody(**fields))


def tick() -> None:
    """Let the server clock move on by at least two milliseconds (the wire resolution is 1 ms)."""
    time.sleep(0.003)


def ids(customers) -> list[str]:
    return [c.id for c in customers]


def midpoint(a: datetime, b: datetime) -> datetime:
    assert b - a >= timedelta(milliseconds=2), (a, b)
    return a + (b - a) / 2


def error_body(exc: ApiException) -> dict:
    return json.loads(exc.body)


def assert_zeroed_extras(c) -> None:
    """summary / loyalty / referrals of a customer with no activity, as typed SDK models."""
    redemptions = c.summary.redemptions
    assert redemptions.total_redeemed == 0
    assert redemptions.total_failed == 0
    assert redemptions.total_succeeded == 0
    assert redemptions.total_rolled_back == 0
    assert redemptions.total_rollback_failed == 0
    assert redemptions.total_rollback_succeeded == 0
    assert redemptions.gift.redeemed_amount == 0
    assert redemptions.gift.amount_to_go == 0
    assert redemptions.loyalty_card.redeemed_points == 0
    assert redemptions.loyalty_card.points_to_go == 0
    orders = c.summary.orders
    assert (orders.total_amount, orders.total_count) == (0, 0)
    assert (orders.average_amount, orders.last_order_amount) == (0, 0)
    assert orders.last_order_date is None
    assert c.loyalty.points == 0
    assert c.loyalty.referred_customers == 0
    assert c.loyalty.campaigns == {}
    assert c.referrals.total == 0
    assert c.referrals.campaigns == []
    assert c.system_metadata == {}


# --------------------------------------------------------------------------------------------
# create / upsert


class TestCreate:
    def test_new_customer_parses_into_typed_model(self, sdk: Sdk) -> None:
        before = datetime.now(UTC) - timedelta(seconds=5)
        response = sdk.customers.create_customer_with_http_info(
            CustomersCreateRequestBody(
                source_id="crm-1042",
                name="Ada Lovelace",
                email="ada@example.org",
                phone="+44 20 7946 0000",
                birthdate=date(1990, 12, 10),
                address=CustomersCreateRequestBodyAddress(
                    city="London", line_1="12 Byron St", country="GB", postal_code="N1 1AA"
                ),
                metadata={"tier": "gold", "score": 3, "tags": ["a"], "nested": {"x": 1}},
            )
        )
        assert response.status_code == 200
        assert sdk.last.method == "POST"
        assert sdk.last.body["birthdate"] == "1990-12-10"
        c = response.data
        assert isinstance(c, voucherify.CustomersCreateResponseBody)
        assert CUST_ID.fullmatch(c.id)
        assert c.object == "customer"
        assert c.source_id == "crm-1042"
        assert c.name == "Ada Lovelace"
        assert c.email == "ada@example.org"
        assert c.phone == "+44 20 7946 0000"
        assert c.description is None
        assert type(c.birthdate) is date
        assert c.birthdate == date(1990, 12, 10)
        assert c.birthday is None
        assert c.address.city == "London"
        assert c.address.line_1 == "12 Byron St"
        assert c.address.country == "GB"
        assert c.address.postal_code == "N1 1AA"
        assert c.address.state is None
        assert c.address.line_2 is None
        assert c.metadata == {"tier": "gold", "score": 3, "tags": ["a"], "nested": {"x": 1}}
        assert isinstance(c.created_at, datetime)
        assert c.created_at.utcoffset() == timedelta(0)
        assert before < c.created_at < datetime.now(UTC) + timedelta(seconds=5)
        assert c.created_at.microsecond % 1000 == 0  # millisecond resolution
        assert c.updated_at is None
        assert_zeroed_extras(c)

    def test_birthday_is_a_separate_date_field(self, sdk: Sdk) -> None:
        c = create(sdk, birthday=date(1985, 2, 28), birthdate=date(1986, 3, 1))
        assert type(c.birthday) is date
        assert c.birthday == date(1985, 2, 28)
        assert c.birthdate == date(1986, 3, 1)

    def test_empty_body_creates_customer_without_source_id(self, sdk: Sdk) -> None:
        c = create(sdk)
        assert sdk.last.body == {}
        assert CUST_ID.fullmatch(c.id)
        assert c.source_id is None
        assert c.name is None
        assert c.address is None
        assert c.metadata is None  # absent
        assert_zeroed_extras(c)
        assert sdk.customers.get_customer(c.id).id == c.id

    def test_address_keys_as_sent_and_unset_strings_absent_parse(self, sdk: Sdk) -> None:
        c = create(sdk, source_id="addr-1", address={"city": "New York", "country": "US"})
        assert (c.address.city, c.address.country, c.address.state) == ("New York", "US", None)
        got = sdk.customers.get_customer("addr-1")
        assert (got.address.city, got.address.state) == ("New York", None)
        assert (got.name, got.email, got.metadata) == (None, None, None)  # absent on the wire

    def test_no_body_at_all_is_400(self, sdk: Sdk) -> None:
        # The SDK lets the body be omitted; the spec requires it.
        with pytest.raises(BadRequestException) as info:
            sdk.customers.create_customer()
        assert sdk.last.body is None
        assert info.value.status == 400
        body = error_body(info.value)
        assert (body["code"], body["key"]) == (400, "invalid_payload")
        assert sdk.customers.list_customers().total == 0

    def test_each_create_without_source_id_is_a_new_customer(self, sdk: Sdk) -> None:
        a = create(sdk, name="Same")
        b = create(sdk, name="Same")
        assert a.id != b.id
        assert sdk.customers.list_customers().total == 2


class TestUpsert:
    def test_same_source_id_updates_the_same_customer(self, sdk: Sdk) -> None:
        first = create(sdk, source_id="crm-1", name="Ada", email="a@x.org", phone="111")
        tick()
        second = create(sdk, source_id="crm-1", name="Ada L.", phone="222")
        assert second.id == first.id
        assert second.name == "Ada L."
        assert second.phone == "222"
        assert second.email == "a@x.org"  # absent → unchanged
        assert second.created_at == first.created_at
        assert isinstance(second.updated_at, datetime)
        assert second.updated_at > first.created_at
        got = sdk.customers.get_customer(first.id)
        assert (got.name, got.phone, got.email) == ("Ada L.", "222", "a@x.org")
        listed = sdk.customers.list_customers()
        assert listed.total == 1
        assert ids(listed.customers) == [first.id]

    def test_by_id_updates_that_customer(self, sdk: Sdk) -> None:
        first = create(sdk, source_id="crm-2", name="Grace", email="g@x.org")
        tick()
        second = create(sdk, id=first.id, email="grace@navy.mil", description="Admiral")
        assert sdk.last.body == {
            "id": first.id,
            "email": "grace@navy.mil",
            "description": "Admiral",
        }
        assert second.id == first.id
        assert second.source_id == "crm-2"
        assert second.name == "Grace"
        assert second.email == "grace@navy.mil"
        assert second.description == "Admiral"
        assert second.created_at == first.created_at
        assert second.updated_at > first.created_at
        got = sdk.customers.get_customer("crm-2")
        assert (got.id, got.email) == (first.id, "grace@navy.mil")
        assert sdk.customers.list_customers().total == 1

    def test_by_id_of_a_customer_without_source_id(self, sdk: Sdk) -> None:
        first = create(sdk, name="Anon")
        second = create(sdk, id=first.id, name="Known")
        assert second.id == first.id
        assert second.name == "Known"
        assert second.source_id is None
        assert sdk.customers.list_customers().total == 1

    def test_unknown_id_is_404(self, sdk: Sdk) -> None:
        with pytest.raises(NotFoundException) as info:
            create(sdk, id="cust_DoesNotExist000000000000", name="x")
        assert info.value.status == 404
        body = error_body(info.value)
        assert body["key"] == "not_found"
        assert body["resource_type"] == "customer"
        assert sdk.customers.list_customers().total == 0


# --------------------------------------------------------------------------------------------
# get


class TestGet:
    def test_by_id_and_by_source_id(self, sdk: Sdk) -> None:
        c = create(sdk, source_id="crm-7", name="Alan", birthdate=date(1912, 6, 23))
        by_id = sdk.customers.get_customer(c.id)
        by_source = sdk.customers.get_customer("crm-7")
        for got in (by_id, by_source):
            assert isinstance(got, voucherify.CustomersGetResponseBody)
            assert got.id == c.id
            assert got.object == "customer"
            assert got.name == "Alan"
            assert got.birthdate == date(1912, 6, 23)
            assert type(got.birthdate) is date
            assert got.created_at == c.created_at
            assert got.updated_at is None
            assert got.address is None
            assert_zeroed_extras(got)
        assert by_id.to_dict() == by_source.to_dict() == c.to_dict()

    @pytest.mark.parametrize("source_id", TRICKY_SOURCE_IDS)
    def test_source_id_needing_percent_encoding(self, sdk: Sdk, source_id: str) -> None:
        c = create(sdk, source_id=source_id, name="Tricky")
        assert c.source_id == source_id
        got = sdk.customers.get_customer(source_id)
        # The SDK percent-encodes every reserved character into one path segment.
        path = sdk.last.url.split("/v1/customers/", 1)[1]
        assert "/" not in path
        assert " " not in path
        assert "@" not in path
        assert got.id == c.id
        assert got.source_id == source_id
        # ... and the same path works for update and delete.
        updated = update(sdk, source_id, email="t@x.org")
        assert (updated.id, updated.email) == (c.id, "t@x.org")
        sdk.customers.delete_customer(source_id)
        with pytest.raises(NotFoundException):
            sdk.customers.get_customer(source_id)

    def test_unknown_customer_is_404(self, sdk: Sdk) -> None:
        with pytest.raises(NotFoundException) as info:
            sdk.customers.get_customer("nope")
        assert info.value.status == 404
        body = error_body(info.value)
        assert body["code"] == 404
        assert body["key"] == "not_found"
        assert body["message"] == "Resource not found"
        assert body["details"] == "Cannot find customer with id nope"
        assert body["resource_id"] == "nope"
        assert body["resource_type"] == "customer"

    def test_unknown_encoded_source_id_is_404(self, sdk: Sdk) -> None:
        create(sdk, source_id="a")  # a prefix of the path must not match
        with pytest.raises(NotFoundException) as info:
            sdk.customers.get_customer("a/b c@d")
        assert sdk.last.url.endswith("/v1/customers/a%2Fb%20c%40d")
        assert info.value.status == 404
        body = error_body(info.value)
        assert body["key"] == "not_found"
        # resource_id echoes the identifier the client asked for (the source_id, decoded once).
        assert body["resource_id"] == "a/b c@d"
        assert body["details"] == "Cannot find customer with id a/b c@d"
        assert body["request_id"] == info.value.headers["x-request-id"]


# --------------------------------------------------------------------------------------------
# update


def _full_customer(sdk: Sdk):
    return create(
        sdk,
        source_id="crm-u",
        name="Ada Lovelace",
        description="Analyst",
        email="ada@example.org",
        phone="+44 1",
        birthdate=date(1990, 12, 10),
        birthday=date(1990, 12, 11),
        address=CustomersCreateRequestBodyAddress(
            city="London", state="LDN", line_1="12 Byron St", country="GB", postal_code="N1"
        ),
        metadata={"tier": "gold", "score": 3},
    )


class TestUpdate:
    def test_only_fields_sent_change(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        tick()
        response = sdk.customers.update_customer_with_http_info(
            c.id, CustomersUpdateRequestBody(phone="+44 2")
        )
        # Fields never assigned are left out of the body entirely.
        assert sdk.last.method == "PUT"
        assert sdk.last.body == {"phone": "+44 2"}
        assert response.status_code == 200
        u = response.data
        assert isinstance(u, voucherify.CustomersUpdateResponseBody)
        assert u.id == c.id
        assert u.object == "customer"
        assert u.phone == "+44 2"
        for name in ("source_id", "name", "description", "email", "birthdate", "birthday"):
            assert getattr(u, name) == getattr(c, name), name
        assert u.address.to_dict() == c.address.to_dict()
        assert u.metadata == c.metadata
        assert u.created_at == c.created_at
        assert isinstance(u.updated_at, datetime)
        assert u.updated_at > c.created_at
        assert_zeroed_extras(u)
        assert sdk.customers.get_customer(c.id).to_dict() == u.to_dict()

    def test_by_source_id(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        u = update(sdk, "crm-u", name="Augusta Ada King")
        assert u.id == c.id
        assert u.name == "Augusta Ada King"
        assert u.email == c.email

    def test_explicit_none_is_sent_as_null_and_clears(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        u = update(sdk, c.id, email=None, birthdate=None, description=None)
        assert sdk.last.body == {"email": None, "birthdate": None, "description": None}
        assert u.email is None
        assert u.birthdate is None
        assert u.description is None
        # Everything not sent is unchanged.
        assert (u.name, u.phone, u.birthday) == (c.name, c.phone, c.birthday)
        assert u.address.to_dict() == c.address.to_dict()
        assert u.metadata == c.metadata
        got = sdk.customers.get_customer(c.id)
        assert (got.email, got.birthdate, got.description) == (None, None, None)

    def test_from_dict_sends_every_field_and_clears_the_rest(self, sdk: Sdk) -> None:
        """`from_dict` marks every field as set, so the SDK sends null for all the others."""
        c = _full_customer(sdk)
        body = CustomersUpdateRequestBody.from_dict({"phone": "+44 3"})
        sdk.customers.update_customer(c.id, body)
        assert sdk.last.body == {
            "name": None,
            "description": None,
            "email": None,
            "phone": "+44 3",
            "birthday": None,
            "birthdate": None,
            "address": None,
            "metadata": None,
        }
        u = sdk.customers.get_customer(c.id)
        assert u.id == c.id
        assert u.source_id == "crm-u"
        assert u.phone == "+44 3"
        assert (u.name, u.description, u.email) == (None, None, None)
        assert (u.birthday, u.birthdate) == (None, None)
        assert u.address is None
        assert u.metadata is None  # emptied: absent
        assert_zeroed_extras(u)

    def test_address_merges_key_by_key_and_null_clears(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        u = update(sdk, c.id, address=CustomersUpdateRequestBodyAddress(city="Bath", state=None))
        assert sdk.last.body == {"address": {"city": "Bath", "state": None}}
        assert u.address.city == "Bath"
        assert u.address.state is None
        assert u.address.line_1 == "12 Byron St"
        assert u.address.country == "GB"
        assert u.address.postal_code == "N1"
        u = update(sdk, c.id, address=None)
        assert sdk.last.body == {"address": None}
        assert u.address is None
        assert sdk.customers.get_customer(c.id).address is None
        u = update(sdk, c.id, address=CustomersUpdateRequestBodyAddress(line_2="Flat 3"))
        assert u.address.line_2 == "Flat 3"
        assert (u.address.city, u.address.line_1) == (None, None)

    def test_metadata_replaces_and_null_empties(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        u = update(sdk, c.id, metadata={"tier": "platinum", "flags": [1, 2]})
        assert u.metadata == {"tier": "platinum", "flags": [1, 2]}
        u = update(sdk, c.id, metadata=None)
        assert sdk.last.body == {"metadata": None}
        assert u.metadata is None  # emptied: absent
        assert sdk.customers.get_customer(c.id).metadata is None

    def test_empty_update_keeps_everything(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        u = sdk.customers.update_customer(c.id, CustomersUpdateRequestBody())
        assert sdk.last.body == {}
        before, after = c.to_dict(), u.to_dict()
        assert after.pop("updated_at") is not None
        assert before.pop("updated_at", None) is None
        assert after == before

    def test_no_body_at_all_is_400(self, sdk: Sdk) -> None:
        c = _full_customer(sdk)
        with pytest.raises(BadRequestException) as info:
            sdk.customers.update_customer(c.id)
        assert info.value.status == 400
        assert error_body(info.value)["key"] == "invalid_payload"
        assert sdk.customers.get_customer(c.id).to_dict() == c.to_dict()

    def test_unknown_customer_is_404(self, sdk: Sdk) -> None:
        with pytest.raises(NotFoundException) as info:
            update(sdk, "nope", name="x")
        assert info.value.status == 404
        assert error_body(info.value)["resource_type"] == "customer"
        assert sdk.customers.list_customers().total == 0


# --------------------------------------------------------------------------------------------
# delete


class TestDelete:
    def test_delete_by_id_then_404(self, sdk: Sdk) -> None:
        keep = create(sdk, source_id="keep")
        c = create(sdk, source_id="gone", name="Gone")
        response = sdk.customers.delete_customer_with_http_info(c.id)
        assert sdk.last.method == "DELETE"
        assert response.status_code == 204
        assert response.data is None
        assert response.raw_data == b""
        for ref in (c.id, "gone"):
            with pytest.raises(NotFoundException) as info:
                sdk.customers.get_customer(ref)
            assert info.value.status == 404
            assert isinstance(info.value, ApiException)
        with pytest.raises(NotFoundException):
            update(sdk, c.id, name="zombie")
        with pytest.raises(NotFoundException):
            sdk.customers.delete_customer(c.id)
        listed = sdk.customers.list_customers()
        assert listed.total == 1
        assert ids(listed.customers) == [keep.id]

    def test_delete_by_source_id_and_reuse_it(self, sdk: Sdk) -> None:
        c = create(sdk, source_id="crm-d", name="Old")
        assert sdk.customers.delete_customer("crm-d") is None
        with pytest.raises(NotFoundException):
            sdk.customers.get_customer(c.id)
        fresh = create(sdk, source_id="crm-d", name="New")
        assert fresh.id != c.id
        assert fresh.updated_at is None
        assert sdk.customers.get_customer("crm-d").name == "New"
        assert sdk.customers.list_customers().total == 1


# --------------------------------------------------------------------------------------------
# list


def _created(sdk: Sdk, n: int, **fields) -> list:
    """n customers with strictly increasing created_at (>= 2 ms apart)."""
    out = []
    for i in range(n):
        if i:
            tick()
        out.append(create(sdk, source_id=f"sdk-{i:02d}", **fields))
    return out


class TestList:
    def test_envelope_and_typed_items(self, sdk: Sdk) -> None:
        made = _created(sdk, 3, name="Lister", birthdate=date(2000, 1, 2))
        response = sdk.customers.list_customers_with_http_info()
        assert response.status_code == 200
        page = response.data
        assert isinstance(page, voucherify.CustomersListResponseBody)
        assert page.object == "list"
        assert page.data_ref == "customers"
        assert page.total == 3
        assert page.has_more is False
        assert ids(page.customers) == ids(reversed(made))  # default order: -created_at
        for item, c in zip(page.customers, reversed(made), strict=True):
            assert isinstance(item, voucherify.CustomerWithSummaryLoyaltyReferrals)
            assert item.object == "customer"
            assert type(item.birthdate) is date
            assert item.birthdate == date(2000, 1, 2)
            assert item.created_at == c.created_at
            assert item.to_dict() == c.to_dict()
            assert_zeroed_extras(item)
        assert page.customers[0].summary.redemptions.total_redeemed == 0

    def test_empty_project(self, sdk: Sdk) -> None:
        page = sdk.customers.list_customers()
        assert page.customers == []
        assert page.total == 0
        assert page.has_more is False

    def test_limit_and_page(self, sdk: Sdk) -> None:
        made = _created(sdk, 5)
        newest_first = ids(reversed(made))
        seen = []
        for number, (size, more) in enumerate([(2, True), (2, True), (1, False)], start=1):
            page = sdk.customers.list_customers(limit=2, page=number)
            assert "limit=2" in sdk.last.url
            assert f"page={number}" in sdk.last.url
            assert len(page.customers) == size
            assert page.has_more is more
            assert page.total == 5
            seen += ids(page.customers)
        assert seen == newest_first
        beyond = sdk.customers.list_customers(limit=2, page=4)
        assert beyond.customers == []
        assert beyond.has_more is False
        assert beyond.total == 5
        assert ids(sdk.customers.list_customers(limit=100).customers) == newest_first
        assert len(sdk.customers.list_customers(limit=1).customers) == 1

    def test_filters_email_city_name(self, sdk: Sdk) -> None:
        ny = CustomersCreateRequestBodyAddress(city="New York", country="US")
        sf = CustomersCreateRequestBodyAddress(city="San Francisco", country="US")
        a = create(sdk, source_id="a", name="Zoë Ålund", email="zoe+tag@example.org", address=ny)
        b = create(sdk, source_id="b", name="Zoë Ålund", email="zoe@example.org", address=sf)
        c = create(sdk, source_id="c", name="Bob O'Neil & Co", email="bob@example.org", address=ny)
        create(sdk, source_id="d", name="Nobody")

        def listed(**params) -> set[str]:
            page = sdk.customers.list_customers(limit=100, **params)
            assert page.total == len(page.customers)
            return set(ids(page.customers))

        assert listed(email="zoe+tag@example.org") == {a.id}
        assert "zoe%2Btag%40example.org" in sdk.last.url
        assert listed(email="zoe@example.org") == {b.id}
        assert listed(email="nobody@example.org") == set()
        assert listed(city="New York") == {a.id, c.id}
        assert listed(city="San Francisco") == {b.id}
        assert listed(name="Zoë Ålund") == {a.id, b.id}
        assert listed(name="Bob O'Neil & Co") == {c.id}
        assert listed(name="Zoë") == set()  # exact match, not a prefix
        assert listed(name="Zoë Ålund", city="New York") == {a.id}
        assert listed(email="bob@example.org", city="San Francisco") == set()

    def test_created_at_before_and_after(self, sdk: Sdk) -> None:
        made = _created(sdk, 4)
        t = [c.created_at for c in made]
        mid01, mid12, mid23 = midpoint(t[0], t[1]), midpoint(t[1], t[2]), midpoint(t[2], t[3])
        plus2 = timezone(timedelta(hours=2))

        def listed(**params) -> list[str]:
            page = sdk.customers.list_customers(limit=100, order="created_at", **params)
            assert page.total == len(page.customers)
            return ids(page.customers)

        everyone = ids(made)
        assert listed(created_at_after=mid12) == everyone[2:]
        # The SDK sends `%Y-%m-%dT%H:%M:%S.%f%z`: microseconds and a colon-less offset.
        sent = r"created_at\[after\]=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d\.\d{6}%2B0000"
        assert re.search(sent, sdk.last.url)
        assert listed(created_at_before=mid12) == everyone[:2]
        assert listed(created_at_after=mid01, created_at_before=mid23) == everyone[1:3]
        assert listed(created_at_after=mid23, created_at_before=mid01) == []
        # Other offsets and naive datetimes (sent without offset, meaning UTC) select the same.
        assert listed(created_at_after=mid12.astimezone(plus2)) == everyone[2:]
        assert "%2B0200" in sdk.last.url
        assert listed(created_at_before=mid12.replace(tzinfo=None)) == everyone[:2]
        assert listed(created_at_after=EPOCH, created_at_before=YEAR_2200) == everyone
        assert listed(created_at_after=YEAR_2200) == []

    def test_updated_at_before_and_after(self, sdk: Sdk) -> None:
        never, first, second = _created(sdk, 3)
        tick()
        u1 = update(sdk, first.id, name="one")
        tick()
        u2 = update(sdk, second.id, name="two")
        mid = midpoint(u1.updated_at, u2.updated_at)

        def listed(**params) -> list[str]:
            page = sdk.customers.list_customers(limit=100, order="updated_at", **params)
            assert page.total == len(page.customers)
            return ids(page.customers)

        assert listed(updated_at_after=mid) == [second.id]
        assert "updated_at[after]=" in sdk.last.url
        assert listed(updated_at_before=mid) == [first.id]
        assert "updated_at[before]=" in sdk.last.url
        early = midpoint(first.created_at, u1.updated_at)
        assert listed(updated_at_after=early) == [first.id, second.id]
        assert listed(updated_at_after=early, updated_at_before=mid) == [first.id]
        assert never.id not in listed(updated_at_after=EPOCH)

    @pytest.mark.parametrize(
        "order",
        ["created_at", "-created_at", "updated_at", "-updated_at", "source_id", "-source_id"],
    )
    def test_order(self, sdk: Sdk, order: str) -> None:
        # Creation, update and source_id orders all differ from one another.
        made = []
        for source_id in ("sdk-c", "sdk-a", "sdk-d", "sdk-b"):
            if made:
                tick()
            made.append(create(sdk, source_id=source_id))
        updated = {}
        for i in (2, 0, 3, 1):
            tick()
            updated[made[i].id] = update(sdk, made[i].id, name=f"n{i}")
        column = order.lstrip("-")

        def key(c):
            return getattr(updated[c.id], column)

        expected = ids(sorted(made, key=key, reverse=order.startswith("-")))
        page = sdk.customers.list_customers(order=voucherify.ParameterOrderListCustomers(order))
        assert f"order={order}" in sdk.last.url
        assert ids(page.customers) == expected
        assert page.total == 4
        # Paging by page number keeps the order.
        paged = []
        for number in (1, 2):
            paged += ids(sdk.customers.list_customers(order=order, limit=3, page=number).customers)
        assert paged == expected

    @pytest.mark.parametrize("order", ["-created_at", "created_at", None])
    def test_starting_after_cursor_visits_everyone_once(self, sdk: Sdk, order) -> None:
        made = [create(sdk, source_id=f"cur-{i}") for i in range(8)]  # no pauses: ties allowed
        ascending = order == "created_at"
        cursor = EPOCH if ascending else YEAR_2200
        seen: list = []
        for _ in range(20):
            page = sdk.customers.list_customers(limit=3, order=order, starting_after=cursor)
            assert "starting_after=" in sdk.last.url
            assert page.total == 8
            seen += page.customers
            if not page.has_more:
                break
            assert page.customers
            stamps = [c.created_at for c in page.customers]
            cursor = max(stamps) if ascending else min(stamps)
        else:
            pytest.fail("cursor paging did not finish")
        assert len(seen) == len({c.id for c in seen}) == 8
        assert {c.id for c in seen} == set(ids(made))
        stamps = [c.created_at for c in seen]
        assert stamps == sorted(stamps, reverse=not ascending)

    def test_starting_after_with_same_millisecond_groups(self, sdk: Sdk, server, project) -> None:
        base = 1_767_225_600_000  # 2026-01-01T00:00:00Z
        offsets = [0, 1, 1, 1, 2, 3, 3, 4, 5, 5, 5, 5]
        seed_customers(
            server.backend.url,
            project.id,
            [{"source_id": f"seed-{i:02d}", "created_at": base + o} for i, o in enumerate(offsets)],
        )
        for ascending in (True, False):
            cursor = EPOCH if ascending else YEAR_2200
            seen: list = []
            for _ in range(30):
                page = sdk.customers.list_customers(
                    limit=2,
                    order="created_at" if ascending else "-created_at",
                    starting_after=cursor,
                )
                seen += page.customers
                if not page.has_more:
                    break
                stamps = [c.created_at for c in page.customers]
                cursor = max(stamps) if ascending else min(stamps)
            else:
                pytest.fail("cursor paging did not finish")
            assert len(seen) == len({c.id for c in seen}) == len(offsets)
            stamps = [c.created_at for c in seen]
            assert stamps == sorted(stamps, reverse=not ascending)
            assert stamps[0 if ascending else -1] == datetime(2026, 1, 1, tzinfo=UTC)

    def test_unknown_segment_id_is_404(self, sdk: Sdk) -> None:
        create(sdk, source_id="x")
        with pytest.raises(NotFoundException) as info:
            sdk.customers.list_customers(segment_id="seg_unknown")
        assert "segment_id=seg_unknown" in sdk.last.url
        body = error_body(info.value)
        assert (body["key"], body["resource_type"]) == ("not_found", "segment")

    def test_starting_after_combined_with_filters(self, sdk: Sdk) -> None:
        ny = CustomersCreateRequestBodyAddress(city="New York")
        made = _created(sdk, 4, address=ny)
        create(sdk, source_id="elsewhere")
        page = sdk.customers.list_customers(
            city="New York", starting_after=made[2].created_at, limit=10
        )
        assert ids(page.customers) == [made[1].id, made[0].id]
        assert page.has_more is False


# --------------------------------------------------------------------------------------------
# auth and tenancy


class TestAuth:
    def test_wrong_app_token_is_401(self, sdk: Sdk, server, project) -> None:
        c = create(sdk, source_id="mine")
        bad = make_sdk(server.base_url, project.app_id, project.app_token + "x")
        calls = [
            lambda: bad.customers.get_customer(c.id),
            lambda: bad.customers.list_customers(),
            lambda: bad.customers.create_customer(CustomersCreateRequestBody(source_id="mine")),
            lambda: bad.customers.update_customer(c.id, CustomersUpdateRequestBody(name="x")),
            lambda: bad.customers.delete_customer(c.id),
        ]
        for call in calls:
            with pytest.raises(UnauthorizedException) as info:
                call()
            assert info.value.status == 401
            body = error_body(info.value)
            assert {k: body[k] for k in UNAUTHORIZED} == UNAUTHORIZED
        assert sdk.customers.get_customer(c.id).to_dict() == c.to_dict()

    def test_unknown_app_id_is_401(self, server) -> None:
        bad = make_sdk(server.base_url, "no-such-app", "no-such-token")
        with pytest.raises(UnauthorizedException) as info:
            bad.customers.list_customers()
        assert info.value.status == 401

    def test_another_projects_keys_get_404(self, sdk: Sdk, other_sdk: Sdk) -> None:
        c = create(sdk, source_id="shared-sid", name="Mine")
        calls = [
            lambda: other_sdk.customers.get_customer(c.id),
            lambda: other_sdk.customers.get_customer("shared-sid"),
            lambda: other_sdk.customers.update_customer(c.id, CustomersUpdateRequestBody(name="x")),
            lambda: other_sdk.customers.delete_customer(c.id),
            lambda: other_sdk.customers.delete_customer("shared-sid"),
            lambda: other_sdk.customers.create_customer(CustomersCreateRequestBody(id=c.id)),
        ]
        for call in calls:
            with pytest.raises(NotFoundException) as info:
                call()
            assert info.value.status == 404
        theirs = other_sdk.customers.list_customers()
        assert (theirs.total, theirs.customers) == (0, [])
        # The same source_id in the other project is a different customer.
        twin = other_sdk.customers.create_customer(
            CustomersCreateRequestBody(source_id="shared-sid", name="Theirs")
        )
        assert twin.id != c.id
        assert sdk.customers.get_customer("shared-sid").to_dict() == c.to_dict()
        assert other_sdk.customers.get_customer("shared-sid").name == "Theirs"
