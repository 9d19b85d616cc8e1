"""Campaigns, vouchers, publications, loyalty members, referral holders and a customer's
redeemables through the official Python SDK (voucherify==6.1.1).

Every response must parse into the SDK's strict models (voucher `type`, `holder_role`,
`campaign_type`, redeemable `status` enums, datetimes); the last scenario is the issue's
"done when": the SDK lists a customer's discount voucher, gift card, loyalty card and referral
holdings (REFERRER and REFEREE) that were all created through the API.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import voucherify
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException

pytestmark = pytest.mark.sdk

DISCOUNT = voucherify.Discount(type="PERCENT", percent_off=10)
HOLDER_ID = re.compile(r"^rh_[0-9a-f]{18}$")


def apis(sdk) -> dict[str, Any]:
    client = sdk.customers.api_client
    return {
        "campaigns": voucherify.CampaignsApi(client),
        "vouchers": voucherify.VouchersApi(client),
        "publications": voucherify.PublicationsApi(client),
        "loyalties": voucherify.LoyaltiesApi(client),
        "referrals": voucherify.ReferralsApi(client),
    }


def error_body(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def new_campaign(sdk, name: str, campaign_type: str, **fields: Any):
    voucher = {
        "DISCOUNT_COUPONS": voucherify.CampaignsCreateRequestBodyVoucher(
            type="DISCOUNT_VOUCHER", discount=DISCOUNT
        ),
        "REFERRAL_PROGRAM": voucherify.CampaignsCreateRequestBodyVoucher(
            type="DISCOUNT_VOUCHER", discount=DISCOUNT
        ),
        "GIFT_VOUCHERS": voucherify.CampaignsCreateRequestBodyVoucher(
            type="GIFT_VOUCHER", gift=voucherify.Gift(amount=5000)
        ),
        "LOYALTY_PROGRAM": voucherify.CampaignsCreateRequestBodyVoucher(
            type="LOYALTY_CARD", loyalty_card=voucherify.CampaignLoyaltyCard(points=120)
        ),
    }[campaign_type]
    body = voucherify.CampaignsCreateRequestBody(
        name=name, campaign_type=campaign_type, voucher=fields.pop("voucher", voucher), **fields
    )
    made = apis(sdk)["campaigns"].create_campaign(body)
    assert isinstance(made, voucherify.CampaignsCreateResponseBody)
    assert sdk.last.url.endswith("/v1/campaigns")
    return made


def publish(sdk, source_id: str, *, voucher: str | None = None, campaign: str | None = None):
    body = voucherify.PublicationsCreateRequestBody(
        voucher=voucher,
        campaign=None if campaign is None else voucherify.CreatePublicationCampaign(name=campaign),
        customer=voucherify.Customer(source_id=source_id),
    )
    pub = apis(sdk)["publications"].create_publication(publications_create_request_body=body)
    assert isinstance(pub, voucherify.PublicationsCreateResponseBody)
    return pub


class TestCampaigns:
    def test_create_each_type_and_get(self, sdk) -> None:
        for kind in ("DISCOUNT_COUPONS", "GIFT_VOUCHERS", "LOYALTY_PROGRAM", "REFERRAL_PROGRAM"):
            made = new_campaign(sdk, f"SDK {kind}", kind)
            assert made.campaign_type == kind
            assert made.object == "campaign"
            assert isinstance(made.created_at, datetime)
            got = apis(sdk)["campaigns"].get_campaign(made.id)
            assert isinstance(got, voucherify.CampaignsGetResponseBody)
            assert got.name == f"SDK {kind}"
            assert got.vouchers_count == 0

    def test_generation_fills_the_campaign(self, sdk) -> None:
        made = new_campaign(
            sdk,
            "Generated",
            "DISCOUNT_COUPONS",
            vouchers_count=5,
            voucher=voucherify.CampaignsCreateRequestBodyVoucher(
                type="DISCOUNT_VOUCHER",
                discount=DISCOUNT,
                code_config=voucherify.CodeConfig(prefix="GEN-", length=6),
            ),
        )
        assert made.vouchers_generation_status == "IN_PROGRESS"
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while apis(sdk)["campaigns"].get_campaign(made.id).vouchers_generation_status != "DONE":
            assert datetime.now(UTC) < deadline, "generation did not finish"
            time.sleep(0.05)
        got = apis(sdk)["campaigns"].get_campaign("Generated")
        assert got.vouchers_count == 5
        assert got.vouchers_generation_status == "DONE"

    def test_name_conflict(self, sdk) -> None:
        new_campaign(sdk, "Twice", "GIFT_VOUCHERS")
        with pytest.raises(ApiException) as caught:
            new_campaign(sdk, "Twice", "GIFT_VOUCHERS")
        assert caught.value.status == 409


class TestVouchers:
    def test_create_get_update_enable_disable_delete(self, sdk) -> None:
        vouchers = apis(sdk)["vouchers"]
        made = vouchers.create_voucher(
            "SDK a/b",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="DISCOUNT_VOUCHER", discount=DISCOUNT, metadata={"k": 1}
            ),
        )
        assert isinstance(made, voucherify.VouchersCreateResponseBody)
        assert unquote(sdk.last.url.rsplit("/", 1)[1]) == "SDK a/b"
        assert made.code == "SDK a/b"
        assert made.discount.percent_off == 10
        got = vouchers.get_voucher("SDK a/b")
        assert isinstance(got, voucherify.VouchersGetResponseBody)
        assert got.id == made.id
        assert got.publish.count == 0
        updated = vouchers.update_voucher(
            "SDK a/b", voucherify.VouchersUpdateRequestBody(additional_info="note")
        )
        assert isinstance(updated, voucherify.VouchersUpdateResponseBody)
        assert updated.additional_info == "note"
        assert updated.metadata == {"k": 1}
        off = vouchers.disable_voucher("SDK a/b")
        assert isinstance(off, voucherify.VouchersDisableResponseBody)
        assert off.active is False
        on = vouchers.enable_voucher(made.id)
        assert isinstance(on, voucherify.VouchersEnableResponseBody)
        assert on.active is True
        assert vouchers.delete_voucher("SDK a/b") is None
        with pytest.raises(NotFoundException):
            vouchers.get_voucher("SDK a/b")

    def test_update_a_gift_card(self, sdk) -> None:
        # The SDK's update body defaults `type` to DISCOUNT_VOUCHER and always sends it.
        vouchers = apis(sdk)["vouchers"]
        vouchers.create_voucher(
            "GIFT-SDK",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="GIFT_VOUCHER", gift=voucherify.Gift(amount=900)
            ),
        )
        updated = vouchers.update_voucher(
            "GIFT-SDK", voucherify.VouchersUpdateRequestBody(metadata={"x": "y"})
        )
        assert updated.type == "GIFT_VOUCHER"
        assert updated.gift.balance == 900
        assert updated.metadata == {"x": "y"}

    def test_random_code(self, sdk) -> None:
        made = apis(sdk)["vouchers"].generate_random_code(
            voucherify.VouchersCreateRequestBody(
                type="LOYALTY_CARD", loyalty_card=voucherify.SimpleLoyaltyCard(points=30)
            )
        )
        assert made.type == "LOYALTY_CARD"
        assert made.loyalty_card.points == 30
        assert len(made.code) == 8

    def test_duplicate_is_409(self, sdk) -> None:
        body = voucherify.VouchersCreateWithSpecificCodeRequestBody(
            type="DISCOUNT_VOUCHER", discount=DISCOUNT
        )
        apis(sdk)["vouchers"].create_voucher("ONCE", body)
        with pytest.raises(ApiException) as caught:
            apis(sdk)["vouchers"].create_voucher("ONCE", body)
        assert caught.value.status == 409
        assert error_body(caught.value)["key"] == "duplicate_found"


class TestPublicationsAndHolders:
    def test_publish_and_fail(self, sdk) -> None:
        apis(sdk)["vouchers"].create_voucher(
            "PUB-SDK",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="DISCOUNT_VOUCHER", discount=DISCOUNT
            ),
        )
        pub = publish(sdk, "sdk-pub", voucher="PUB-SDK")
        assert pub.voucher.code == "PUB-SDK"
        assert pub.voucher.holder_id == pub.customer_id
        assert pub.result == "SUCCESS"
        with pytest.raises(BadRequestException) as caught:
            publish(sdk, "sdk-other", voucher="PUB-SDK")
        assert error_body(caught.value)["key"] == "voucher_already_published"

    def test_loyalty_member(self, sdk) -> None:
        club = new_campaign(sdk, "SDK Club", "LOYALTY_PROGRAM")
        card = apis(sdk)["loyalties"].add_member(
            club.id,
            voucherify.LoyaltiesMembersCreateRequestBody(
                customer=voucherify.Customer(source_id="sdk-member")
            ),
        )
        assert isinstance(card, voucherify.LoyaltiesMembersCreateResponseBody)
        assert card.type == "LOYALTY_CARD"
        assert card.loyalty_card.points == 120
        customer = sdk.customers.get_customer("sdk-member")
        assert customer.loyalty.points == 120
        assert customer.loyalty.campaigns["SDK Club"] == {"points": 120, "referred_customers": 0}
        with pytest.raises(BadRequestException):
            apis(sdk)["loyalties"].add_member(
                club.id,
                voucherify.LoyaltiesMembersCreateRequestBody(
                    customer=voucherify.Customer(source_id="sdk-member")
                ),
            )

    def test_referral_holders_add_list_remove(self, sdk) -> None:
        refer = new_campaign(sdk, "SDK Refer", "REFERRAL_PROGRAM")
        code = publish(sdk, "sdk-referrer", campaign="SDK Refer").voucher.code
        referrals = apis(sdk)["referrals"]
        added = referrals.referrals_add_holders(
            code,
            voucherify.ReferralsMembersHoldersCreateInBulkRequestBody(
                holders=[voucherify.Customer(source_id=f"sdk-friend-{i}") for i in range(3)]
            ),
        )
        assert isinstance(added, voucherify.ReferralsMembersHoldersCreateInBulkResponseBody)
        assert [h.holder_role for h in added.holders] == ["REFEREE"] * 3
        assert all(HOLDER_ID.match(h.id) for h in added.holders)
        page = referrals.referrals_code_holders(
            refer.id,
            code,
            limit=2,
            order=voucherify.ParameterOrderListRedeemables("id"),
            filters=voucherify.ParameterFiltersListReferralsRedeemableHolders(
                holder_role=voucherify.ParameterFiltersListReferralsRedeemableHoldersHolderRole(
                    conditions=voucherify.ParameterFiltersListReferralsRedeemableHoldersHolderRoleConditions(
                        var_in=["REFEREE"]
                    )
                )
            ),
        )
        assert isinstance(page, voucherify.ReferralsMembersHoldersListResponseBody)
        assert page.total == 3
        assert page.has_more is True
        rest = referrals.referrals_code_holders(
            refer.id, code, limit=2, starting_after_id=page.more_starting_after
        )
        assert rest.total == 4  # the referrer's own REFERRER row is a holder of the code too
        assert referrals.referrals_remove_holder(code, added.holders[0].id) is None
        remaining = referrals.referrals_code_holders(refer.id, code, limit=100)
        assert added.holders[0].id not in {h.id for h in remaining.data}
        friend = sdk.customers.get_customer("sdk-friend-0")
        assert friend.referrals.total == 0
        referrer = sdk.customers.get_customer("sdk-referrer")
        assert referrer.loyalty.referred_customers == 2


class TestListCustomerRedeemables:
    def test_the_sdk_lists_every_kind_of_holding(self, sdk) -> None:
        """The issue's "done when": discount voucher, gift card, loyalty card, referral code
        (REFERRER) and someone else's referral code (REFEREE), all made through the API."""
        vouchers = apis(sdk)["vouchers"]
        sdk.customers.create_customer(
            voucherify.CustomersCreateRequestBody(source_id="sdk holder/1", name="Holder")
        )
        vouchers.create_voucher(
            "SDK-DISC",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="DISCOUNT_VOUCHER", discount=DISCOUNT
            ),
        )
        publish(sdk, "sdk holder/1", voucher="SDK-DISC")
        new_campaign(sdk, "SDK Gifts", "GIFT_VOUCHERS")
        gift = publish(sdk, "sdk holder/1", campaign="SDK Gifts").voucher
        club = new_campaign(sdk, "SDK Loyal", "LOYALTY_PROGRAM")
        apis(sdk)["loyalties"].add_member(
            club.id,
            voucherify.LoyaltiesMembersCreateRequestBody(
                customer=voucherify.Customer(source_id="sdk holder/1")
            ),
        )
        new_campaign(sdk, "SDK Friends", "REFERRAL_PROGRAM")
        own_code = publish(sdk, "sdk holder/1", campaign="SDK Friends").voucher.code
        apis(sdk)["referrals"].referrals_add_holders(
            own_code,
            voucherify.ReferralsMembersHoldersCreateInBulkRequestBody(
                holders=[voucherify.Customer(source_id="sdk-buddy")]
            ),
        )
        their_code = publish(sdk, "sdk-buddy", campaign="SDK Friends").voucher.code
        apis(sdk)["referrals"].referrals_add_holders(
            their_code,
            voucherify.ReferralsMembersHoldersCreateInBulkRequestBody(
                holders=[voucherify.Customer(source_id="sdk holder/1")]
            ),
        )

        body = sdk.customers.list_customer_redeemables("sdk holder/1", limit=100)
        assert isinstance(body, voucherify.CustomersRedeemablesListResponseBody)
        assert "/v1/customers/sdk%20holder%2F1/redeemables" in sdk.last.url
        assert body.total == 5
        assert body.has_more is False
        held = sorted((r.voucher_type, r.holder_role, r.campaign_type) for r in body.data)
        assert held == [
            # a standalone voucher: the wire's null campaign_type reads as the model's default
            ("DISCOUNT_VOUCHER", "OWNER", "DISCOUNT_COUPONS"),
            ("DISCOUNT_VOUCHER", "REFEREE", "REFERRAL_PROGRAM"),
            ("DISCOUNT_VOUCHER", "REFERRER", "REFERRAL_PROGRAM"),
            ("GIFT_VOUCHER", "OWNER", "GIFT_VOUCHERS"),
            ("LOYALTY_CARD", "OWNER", "LOYALTY_PROGRAM"),
        ]
        for item in body.data:
            assert isinstance(item, voucherify.CustomerRedeemable)
            assert HOLDER_ID.match(item.id)
            assert isinstance(item.created_at, datetime)
            assert item.redeemable.status == "ACTIVE"
            assert item.redeemable.voucher.id == item.redeemable_id
        codes = {
            r.holder_role: r.redeemable.voucher.code
            for r in body.data
            if r.campaign_type == "REFERRAL_PROGRAM"
        }
        assert codes == {"REFERRER": own_code, "REFEREE": their_code}
        card = next(r for r in body.data if r.voucher_type == "LOYALTY_CARD")
        assert card.redeemable.voucher.loyalty_card.balance == 120
        gift_item = next(r for r in body.data if r.voucher_type == "GIFT_VOUCHER")
        assert gift_item.redeemable.voucher.code == gift.code
        assert gift_item.redeemable.voucher.gift.balance == 5000

        # SDK filter models: holder_role $in, voucher_type $is, created_at $after/$before.
        Filters = voucherify.ParameterFiltersListCustomerRedeemables
        roles = sdk.customers.list_customer_redeemables(
            "sdk holder/1",
            filters=Filters(
                holder_role=voucherify.ParameterFiltersListCustomerRedeemablesHolderRole(
                    conditions=voucherify.ParameterFiltersListCustomerRedeemablesHolderRoleConditions(
                        var_in=["REFERRER", "REFEREE"]
                    )
                )
            ),
        )
        assert sorted(r.holder_role for r in roles.data) == ["REFEREE", "REFERRER"]
        cards = sdk.customers.list_customer_redeemables(
            "sdk holder/1",
            filters=Filters(
                voucher_type=voucherify.ParameterFiltersListCustomerRedeemablesVoucherType(
                    conditions=voucherify.ParameterFiltersListCampaignsVoucherTypeConditions(
                        var_is="LOYALTY_CARD"
                    )
                ),
                junction=voucherify.Junction("and"),
            ),
        )
        assert [r.voucher_type for r in cards.data] == ["LOYALTY_CARD"]
        window = voucherify.FilterConditionsDateTime(
            after=datetime.now(UTC) - timedelta(hours=1),
            before=datetime.now(UTC) + timedelta(hours=1),
        )
        recent = sdk.customers.list_customer_redeemables(
            "sdk holder/1",
            filters=Filters(
                created_at=voucherify.ParameterFiltersListCustomerRedeemablesCreatedAt(
                    conditions=window
                )
            ),
        )
        assert recent.total == 5
        days = voucherify.FilterConditionsDateTime(more_than=1)
        old = sdk.customers.list_customer_redeemables(
            "sdk holder/1",
            filters=Filters(
                created_at=voucherify.ParameterFiltersListCustomerRedeemablesCreatedAt(
                    conditions=days
                )
            ),
        )
        assert old.total == 0

        # from_dict() filters: every unset leaf arrives as the literal "None".
        loose = Filters.from_dict(
            {"holder_role": {"conditions": {"$in": ["OWNER"]}}, "id": None, "junction": None}
        )
        owners = sdk.customers.list_customer_redeemables("sdk holder/1", filters=loose)
        assert sorted(r.voucher_type for r in owners.data) == [
            "DISCOUNT_VOUCHER",
            "GIFT_VOUCHER",
            "LOYALTY_CARD",
        ]

        # Cursor paging in both orders.
        for order in ("id", "-id"):
            seen: list[str] = []
            cursor = None
            while True:
                page = sdk.customers.list_customer_redeemables(
                    "sdk holder/1",
                    limit=2,
                    order=voucherify.ParameterOrderListRedeemables(order),
                    starting_after_id=cursor,
                )
                seen += [r.id for r in page.data]
                if not page.has_more:
                    break
                cursor = page.more_starting_after
            assert seen == sorted(seen, reverse=order == "-id")
            assert sorted(seen) == sorted(r.id for r in body.data)

        # The events these calls recorded parse in the SDK's activity models.
        activity = sdk.customers.list_customer_activity("sdk holder/1", limit=50)
        types = sorted({e.type for e in activity.data})
        assert types == [
            "customer.created",
            "customer.holder.assignment.created",
            "customer.publication.succeeded",
        ]
        referrer_events = sdk.customers.list_customer_activity("sdk-buddy", limit=50)
        assert "customer.holder.assignment.created" in {e.type for e in referrer_events.data}

        customer = sdk.customers.get_customer("sdk holder/1")
        assert customer.loyalty.points == 120
        assert customer.loyalty.referred_customers == 1
        assert customer.referrals.total == 1
        assert customer.summary.redemptions.gift.amount_to_go == 5000

    def test_statuses_parse(self, sdk) -> None:
        vouchers = apis(sdk)["vouchers"]
        cases = {
            "ST-USED": {
                "redemption": voucherify.VouchersCreateWithSpecificCodeRequestBodyRedemption(
                    quantity=0
                )
            },
            "ST-LATE": {"start_date": datetime.now(UTC) + timedelta(days=3)},
            "ST-GONE": {"expiration_date": datetime.now(UTC) - timedelta(days=3)},
        }
        for code, fields in cases.items():
            vouchers.create_voucher(
                code,
                voucherify.VouchersCreateWithSpecificCodeRequestBody(
                    type="DISCOUNT_VOUCHER", discount=DISCOUNT, **fields
                ),
            )
            publish(sdk, "statuses", voucher=code)
        vouchers.create_voucher(
            "ST-EMPTY",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="GIFT_VOUCHER", gift=voucherify.Gift(amount=0)
            ),
        )
        publish(sdk, "statuses", voucher="ST-EMPTY")
        vouchers.create_voucher(
            "ST-OFF",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="DISCOUNT_VOUCHER", discount=DISCOUNT
            ),
        )
        publish(sdk, "statuses", voucher="ST-OFF")
        vouchers.disable_voucher("ST-OFF")
        body = sdk.customers.list_customer_redeemables("statuses", limit=10)
        statuses = {r.redeemable.voucher.code: r.redeemable.status for r in body.data}
        assert statuses == {
            "ST-USED": "USED",
            "ST-LATE": "NOT_ACTIVE_YET",
            "ST-GONE": "EXPIRED",
            "ST-EMPTY": "NO_BALANCE",
            "ST-OFF": "DISABLED",
        }

    def test_unknown_customer_and_other_project(self, sdk, other_sdk) -> None:
        with pytest.raises(NotFoundException):
            sdk.customers.list_customer_redeemables("nobody")
        apis(sdk)["vouchers"].create_voucher(
            "MINE",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="DISCOUNT_VOUCHER", discount=DISCOUNT
            ),
        )
        publish(sdk, "mine", voucher="MINE")
        with pytest.raises(NotFoundException):
            other_sdk.customers.list_customer_redeemables("mine")
        with pytest.raises(NotFoundException):
            apis(other_sdk)["vouchers"].get_voucher("MINE")
        with pytest.raises(NotFoundException):
            publish(other_sdk, "intruder", voucher="MINE")
        assert sdk.customers.list_customer_redeemables("mine").total == 1
