"""In process: the discount arithmetic (effects) and redemptions.service on a rolled-back
connection, both databases."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.db.database import Conn
from patrons.projects.service import Credentials
from patrons.redeemables import vouchers
from patrons.redeemables.schemas import VoucherWrite
from patrons.redemptions import effects, service
from patrons.redemptions.schemas import Inapplicable, RedemptionFailed, StackableRequest
from tests.factories import add_customer

ORIGIN = Origin(request_id="v-test", app_id="app-test")


def voucher_row(**fields: Any) -> dict[str, Any]:
    row = {
        "code": "C1",
        "type": "DISCOUNT_VOUCHER",
        "active": True,
        "start_date": None,
        "expiration_date": None,
        "redemption_quantity": None,
        "redeemed_quantity": 0,
        "holder_id": None,
        "discount": None,
        "gift_balance": None,
        "loyalty_balance": None,
    }
    row.update(fields)
    return row


class TestEffects:
    @pytest.mark.parametrize(
        ("discount", "off"),
        [
            ({"type": "AMOUNT", "amount_off": 500}, 500),
            ({"type": "AMOUNT", "amount_off": 5000}, 1000),  # never more than the order
            ({"type": "PERCENT", "percent_off": 25}, 250),
            ({"type": "PERCENT", "percent_off": 50, "amount_limit": 100}, 100),
            ({"type": "FIXED", "fixed_amount": 800}, 200),
        ],
    )
    def test_order_discounts(self, discount, off):
        effect = effects.apply(voucher_row(discount=discount), total=1000, items=None)
        assert effect.discount == off

    def test_unit_discount_applies_to_the_matching_item(self):
        discount = {"type": "UNIT", "unit_off": 2, "unit_type": "sku-1"}
        items = [{"sku_id": "sku-1", "price": 300, "quantity": 5}]
        effect = effects.apply(voucher_row(discount=discount), total=1500, items=items)
        assert (effect.discount, effect.items_discount) == (0, 600)

    def test_gift_credits_stop_at_the_balance_and_the_order(self):
        card = voucher_row(type="GIFT_VOUCHER", gift_balance=700)
        assert effects.apply(card, total=1000, items=None).credits == 700
        assert effects.apply(card, total=300, items=None).credits == 300
        with pytest.raises(Inapplicable) as refused:
            effects.apply(card, total=1000, items=None, credits=800)
        assert refused.value.key == "gift_amount_exceeded"

    @pytest.mark.parametrize(
        ("fields", "key"),
        [
            ({"active": False}, "voucher_disabled"),
            ({"expiration_date": 1}, "voucher_expired"),
            ({"start_date": 10**14}, "voucher_not_active"),
            ({"redemption_quantity": 1, "redeemed_quantity": 1}, "quantity_exceeded"),
            ({"type": "LOYALTY_CARD", "holder_id": "cust_other"}, "customer_rules_violated"),
        ],
    )
    def test_checks(self, fields, key):
        with pytest.raises(Inapplicable) as refused:
            effects.check(voucher_row(**fields), now=10**12, customer_id="cust_me")
        assert refused.value.key == key


async def summary(conn: Conn, tenant: Credentials, ref: str) -> dict[str, Any]:
    wire = await customers.get(conn, project_id=tenant.project_id, ref=ref)
    return msgspec.json.decode(wire.summary)


class TestRedeem:
    async def test_a_redemption_counts_in_the_summary(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant)
        body = msgspec.convert(
            {
                "type": "DISCOUNT_VOUCHER",
                "code": "SVC-1",
                "discount": {"type": "AMOUNT", "amount_off": 5},
            },
            VoucherWrite,
        )
        await vouchers.create(conn, project_id=tenant.project_id, body=body)
        request = msgspec.convert(
            {
                "redeemables": [{"object": "voucher", "id": "SVC-1"}],
                "customer": {"id": customer.id},
                "order": {"amount": 50},
            },
            StackableRequest,
        )

        result = await service.redeem(
            conn, project_id=tenant.project_id, body=request, origin=ORIGIN
        )

        assert len(result.redemptions) == 1
        counts = (await summary(conn, tenant, customer.id))["redemptions"]
        assert (counts["total_redeemed"], counts["total_succeeded"]) == (1, 1)

    async def test_another_projects_voucher_is_not_found(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        body = msgspec.convert(
            {
                "type": "DISCOUNT_VOUCHER",
                "code": "SVC-2",
                "discount": {"type": "AMOUNT", "amount_off": 5},
            },
            VoucherWrite,
        )
        await vouchers.create(conn, project_id=tenant.project_id, body=body)
        request = msgspec.convert(
            {"redeemables": [{"object": "voucher", "id": "SVC-2"}]}, StackableRequest
        )

        with pytest.raises(RedemptionFailed) as failed:
            await service.redeem(
                conn, project_id=other_tenant.project_id, body=request, origin=ORIGIN
            )
        assert failed.value.status == 404
