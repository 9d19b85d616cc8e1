"""The official Python SDK's own suites (voucherify-python-sdk `__tests__/test_01_validation`,
`test_02_redemption`, `test_06_campaigns`, `test_08_vouchers`, `test_09_orders`), their
scenarios rewritten against a live Patrons (issue 17), plus the issue's "done when": a
customer who validates, redeems (discount, gift, loyalty), orders and rolls back shows the
right summary, loyalty and redeemable statuses — every response parsed by the SDK's models."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import voucherify as v

from tests.factories import wait_done

pytestmark = pytest.mark.sdk


def apis(sdk) -> dict[str, Any]:
    client = sdk.customers.api_client
    return {
        "campaigns": v.CampaignsApi(client),
        "vouchers": v.VouchersApi(client),
        "publications": v.PublicationsApi(client),
        "loyalties": v.LoyaltiesApi(client),
        "validations": v.ValidationsApi(client),
        "redemptions": v.RedemptionsApi(client),
        "orders": v.OrdersApi(client),
        "customers": sdk.customers,
    }


def name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def discount_campaign(api: dict[str, Any], **extra: Any):
    return api["campaigns"].create_campaign(
        v.CampaignsCreateRequestBody(
            name=name("campaign"),
            voucher=v.CampaignsCreateRequestBodyVoucher(
                type="DISCOUNT_VOUCHER", discount=v.Discount(type="AMOUNT", amount_off=1000)
            ),
            **extra,
        )
    )


def first_voucher(sdk_api: dict[str, Any], campaign_id: str):
    """The campaign's first generated voucher, once the generation job has made it (the
    official suite sleeps; this polls)."""
    deadline = time.monotonic() + 20
    while True:
        vouchers = sdk_api["vouchers"].list_vouchers(campaign_id=campaign_id, limit=1).vouchers
        if vouchers or time.monotonic() > deadline:
            assert vouchers
            return vouchers[0]
        time.sleep(0.05)


class TestValidation:  # test_01_validation.py
    def test_add_vouchers_create_customer_validate(self, sdk, api):
        sdk_api = apis(sdk)
        campaign = discount_campaign(sdk_api, metadata={"mandatory_v": "test"})
        code = name("test_code")
        action = sdk_api["campaigns"].add_vouchers_to_campaign(campaign.id, vouchers_count=5)
        single = sdk_api["campaigns"].add_vouchers_to_campaign(campaign.id)
        specific = sdk_api["campaigns"].add_voucher_with_specific_code_to_campaign(
            campaign.id, code
        )
        assert action.async_action_id is not None
        assert single is not None
        assert specific is not None
        source_id = name("test_customer")
        sdk_api["customers"].create_customer(v.CustomersCreateRequestBody(source_id=source_id))

        result = sdk_api["validations"].validate_stacked_discounts(
            v.ValidationsValidateRequestBody(
                redeemables=[
                    v.ValidationsValidateRequestBodyRedeemablesItem(id=code, object="voucher")
                ],
                customer=v.Customer(source_id=source_id),
                order=v.Order(amount=30000, metadata={"key_customer": "test"}),
                metadata={"key": "value"},
            )
        )

        assert result.valid is True
        assert wait_done(api, action.async_action_id)["status"] == "DONE"


class TestRedemption:  # test_02_redemption.py
    def test_validate_and_redeem_stacked_then_list(self, sdk):
        sdk_api = apis(sdk)
        campaign = discount_campaign(sdk_api)
        one, two, three = name("code1"), name("code2"), name("code3")
        for code in (one, two, three):
            sdk_api["campaigns"].add_voucher_with_specific_code_to_campaign(campaign.id, code)
        customer = v.Customer(source_id=name("customer"), metadata={"key_customer": "test"})

        validation = sdk_api["validations"].validate_stacked_discounts(
            v.ValidationsValidateRequestBody(
                redeemables=[
                    v.ValidationsValidateRequestBodyRedeemablesItem(id=c, object="voucher")
                    for c in (one, two)
                ],
                customer=customer,
                order=v.Order(amount=20000, metadata={"key_customer": "test"}),
            )
        )
        assert len(validation.redeemables) == 2

        redeemed = sdk_api["redemptions"].redeem_stacked_discounts(
            v.RedemptionsRedeemRequestBody(
                redeemables=[
                    v.RedemptionsRedeemRequestBodyRedeemablesItem(id=three, object="voucher")
                ],
                customer=customer,
                order=v.Order(amount=30000, metadata={"key_customer": "test"}),
                metadata={"key": "value"},
            )
        )
        assert redeemed.redemptions[0].result == "SUCCESS"

        listed = sdk_api["redemptions"].list_redemptions(
            100,
            None,
            None,
            None,
            None,
            None,
            None,
            v.ParameterFiltersListRedemptions(
                voucher_code=v.ParameterFiltersListRedemptionsVoucherCode(
                    conditions=v.FilterConditionsString(is_not=three)
                )
            ),
        )
        assert listed.object == "list"

        sdk_api["campaigns"].delete_campaign(campaign.id)
        with pytest.raises(v.exceptions.NotFoundException):
            sdk_api["campaigns"].get_campaign(campaign.id)


class TestCampaigns:  # test_06_campaigns.py
    def test_publish_a_campaign_voucher(self, sdk):
        sdk_api = apis(sdk)
        campaign = discount_campaign(sdk_api)
        first = sdk_api["campaigns"].add_vouchers_to_campaign(campaign.id)
        assert first.code
        assert first.campaign_id == campaign.id
        bundle = sdk_api["campaigns"].add_vouchers_to_campaign(campaign.id, vouchers_count=3)
        assert bundle.async_action_id
        customer = sdk_api["customers"].create_customer(
            v.CustomersCreateRequestBody(name="Customer", email="c@example.com")
        )

        publication = sdk_api["publications"].create_publication(
            publications_create_request_body=v.PublicationsCreateRequestBody(
                voucher=first.code,
                customer=v.Customer(id=customer.id),
                channel=None,
                campaign=None,
                metadata=None,
            ),
            join_once=False,
        )
        assert publication.id

    def test_update_expiration_date(self, sdk):
        sdk_api = apis(sdk)
        campaign = discount_campaign(sdk_api, expiration_date="2090-10-08T12:57:09.386Z")
        assert campaign.expiration_date is not None

        updated = sdk_api["campaigns"].update_campaign(
            campaign.id, v.CampaignsUpdateRequestBody(expiration_date=None)
        )

        assert updated.expiration_date is None


class TestVouchers:  # test_08_vouchers.py
    def test_enable_disable_voucher(self, sdk):
        sdk_api = apis(sdk)
        campaign = discount_campaign(sdk_api, vouchers_count=1)
        voucher = first_voucher(sdk_api, campaign.id)
        assert voucher.active

        assert sdk_api["vouchers"].disable_voucher(voucher.code).active is False
        assert sdk_api["vouchers"].enable_voucher(voucher.code).active is True

    def test_update_loyalty_card_balance(self, sdk):
        sdk_api = apis(sdk)
        campaign = sdk_api["campaigns"].create_campaign(
            v.CampaignsCreateRequestBody(
                name=name("Loyalty"),
                voucher=v.CampaignsCreateRequestBodyVoucher(
                    type="LOYALTY_CARD", loyalty_card=v.CampaignLoyaltyCard(points=1000)
                ),
                vouchers_count=1,
            )
        )
        card = first_voucher(sdk_api, campaign.id)
        customer = sdk_api["customers"].create_customer(
            v.CustomersCreateRequestBody(source_id=name("Customer"))
        )
        sdk_api["publications"].create_publication(
            publications_create_request_body=v.PublicationsCreateRequestBody(
                customer={"id": customer.id}, voucher=card.code
            )
        )

        updated = sdk_api["loyalties"].update_loyalty_card_balance(
            card.code,
            v.LoyaltiesMembersBalanceUpdateRequestBody(
                source_id=name("Source"), points=10000, reason="Regular customer"
            ),
        )

        assert updated.balance == 11000
        after = sdk_api["customers"].get_customer(customer.id)
        assert after.loyalty.points == 11000


class TestOrders:  # test_09_orders.py
    def test_create_get_update_list(self, sdk):
        sdk_api = apis(sdk)
        created = sdk_api["orders"].create_order(
            v.OrdersCreateRequestBody(
                amount=1000,
                currency="USD",
                customer=v.Customer(name="Test Customer", email="t@example.com"),
                source_id=name("order"),
            )
        )
        assert created.status == "CREATED"
        assert sdk_api["orders"].get_order(created.id).status == "CREATED"

        updated = sdk_api["orders"].update_order(
            created.id, v.OrdersUpdateRequestBody(status="PAID")
        )

        assert (updated.id, updated.status) == (created.id, "PAID")
        listed = sdk_api["orders"].list_orders(limit=10)
        assert 1 <= len(listed.orders) <= 10


class TestCustomerJourney:  # the "done when"
    def test_validate_redeem_order_roll_back(self, sdk):
        sdk_api = apis(sdk)
        customer = sdk_api["customers"].create_customer(
            v.CustomersCreateRequestBody(source_id=name("journey"))
        )
        discount = discount_campaign(sdk_api)
        coupon = sdk_api["campaigns"].add_vouchers_to_campaign(discount.id)
        gift = sdk_api["vouchers"].create_voucher(
            name("GIFT"),
            v.VouchersCreateWithSpecificCodeRequestBody(
                type="GIFT_VOUCHER", gift=v.Gift(amount=5000)
            ),
        )
        sdk_api["publications"].create_publication(
            publications_create_request_body=v.PublicationsCreateRequestBody(
                customer=v.Customer(id=customer.id), voucher=gift.code
            )
        )
        redeem = sdk_api["redemptions"].redeem_stacked_discounts
        ref = v.Customer(id=customer.id)

        first = redeem(
            v.RedemptionsRedeemRequestBody(
                redeemables=[
                    v.RedemptionsRedeemRequestBodyRedeemablesItem(id=coupon.code, object="voucher"),
                    v.RedemptionsRedeemRequestBodyRedeemablesItem(id=gift.code, object="voucher"),
                ],
                customer=ref,
                order=v.Order(amount=4000),
            )
        )
        assert first.order.total_amount == 0  # 1000 off, then 3000 of gift credits
        sdk_api["redemptions"].rollback_stacked_redemptions(first.parent_redemption.id)
        time.sleep(0.01)

        after = sdk_api["customers"].get_customer(customer.id)
        redemptions = after.summary.redemptions
        assert (redemptions.total_redeemed, redemptions.total_succeeded) == (2, 2)
        assert redemptions.total_rollback_succeeded == 2
        assert redemptions.gift.amount_to_go == 5000
        assert after.summary.orders.total_count == 1
        assert after.summary.orders.total_amount == 4000
        held = sdk.customers.list_customer_redeemables(customer.id).data
        assert [h.redeemable.status for h in held] == ["ACTIVE"]  # the gift card, refilled


class TestMoreParsing:
    """Every other operation of issue 17 through the SDK: its models must parse each answer."""

    def test_single_rollback_members_balances_programs(self, sdk):
        sdk_api = apis(sdk)
        customer = sdk_api["customers"].create_customer(
            v.CustomersCreateRequestBody(source_id=name("parse"))
        )
        gift = sdk_api["vouchers"].create_voucher(
            name("GIFT"),
            v.VouchersCreateWithSpecificCodeRequestBody(
                type="GIFT_VOUCHER", gift=v.Gift(amount=800)
            ),
        )
        redeemed = sdk_api["redemptions"].redeem_stacked_discounts(
            v.RedemptionsRedeemRequestBody(
                redeemables=[
                    v.RedemptionsRedeemRequestBodyRedeemablesItem(id=gift.code, object="voucher")
                ],
                customer=v.Customer(id=customer.id),
                order=v.Order(amount=500),
            )
        )
        redemption_id = redeemed.redemptions[0].id
        assert sdk_api["redemptions"].get_redemption(redemption_id).id == redemption_id

        rollback = sdk_api["redemptions"].rollback_redemption(redemption_id, reason="test")

        assert (rollback.result, rollback.status) == ("SUCCESS", "SUCCEEDED")
        assert sdk_api["vouchers"].get_voucher(gift.code).gift.balance == 800
        topped = sdk_api["vouchers"].update_voucher_balance(
            gift.code, v.VouchersBalanceUpdateRequestBody(amount=200)
        )
        assert topped.balance == 1000
        listed = sdk_api["redemptions"].list_redemptions(limit=10)
        assert listed.total == 2  # the redemption and its rollback
        program = sdk_api["loyalties"].create_loyalty_program(
            v.LoyaltiesCreateCampaignRequestBody(
                name=name("program"),
                voucher=v.CampaignLoyaltyVoucher(
                    type="LOYALTY_CARD", loyalty_card=v.CampaignLoyaltyCard(points=70)
                ),
            )
        )
        assert [p.id for p in sdk_api["loyalties"].list_loyalty_programs().campaigns] == [
            program.id
        ]
        card = sdk_api["loyalties"].add_member(
            program.id, v.LoyaltiesMembersCreateRequestBody(customer=v.Customer(id=customer.id))
        )
        assert sdk_api["loyalties"].get_member(card.code).loyalty_card.balance == 70
        assert sdk_api["loyalties"].get_member1(program.id, card.code).code == card.code
        moved = sdk_api["loyalties"].update_loyalty_card_balance1(
            program.id, card.code, v.LoyaltiesMembersBalanceUpdateRequestBody(points=30)
        )
        assert moved.balance == 100
