"""A card's transactions through the official Python SDK (voucherify==6.1.1): the answer of
GET /v1/vouchers/{code}/transactions parses into VouchersTransactionsListResponseBody, balance
details and all, and the SDK's paging parameters are honoured (#17)."""

from __future__ import annotations

import pytest
import voucherify
from voucherify.exceptions import NotFoundException

pytestmark = pytest.mark.sdk


def test_a_gift_card_and_a_loyalty_card_list_their_transactions(sdk) -> None:
    client = sdk.customers.api_client
    vouchers, loyalties = voucherify.VouchersApi(client), voucherify.LoyaltiesApi(client)
    vouchers.create_voucher(
        "GIFT-TX-SDK",
        voucherify.VouchersCreateWithSpecificCodeRequestBody(
            type="GIFT_VOUCHER", gift=voucherify.Gift(amount=900)
        ),
    )
    for amount in (100, -50):
        vouchers.update_voucher_balance(
            "GIFT-TX-SDK",
            voucherify.VouchersBalanceUpdateRequestBody(
                amount=amount, source_id=f"sdk-{amount}", reason="sdk"
            ),
        )

    listed = vouchers.list_voucher_transactions("GIFT-TX-SDK")

    assert isinstance(listed, voucherify.VouchersTransactionsListResponseBody)
    assert sdk.last.url.endswith("/v1/vouchers/GIFT-TX-SDK/transactions")
    assert [t.type for t in listed.data] == ["CREDITS_REMOVAL", "CREDITS_ADDITION"]
    assert [t.details.balance.amount for t in listed.data] == [-50, 100]
    assert [t.details.balance.balance for t in listed.data] == [950, 1000]
    assert [t.source_id for t in listed.data] == ["sdk--50", "sdk-100"]
    assert listed.data[0].created_at is not None
    assert listed.has_more is False
    first = vouchers.list_voucher_transactions("GIFT-TX-SDK", limit=1, order="id")
    assert [t.type for t in first.data] == ["CREDITS_ADDITION"]
    assert first.has_more is True
    rest = vouchers.list_voucher_transactions(
        "GIFT-TX-SDK", order="id", starting_after_id=first.more_starting_after
    )
    assert [t.type for t in rest.data] == ["CREDITS_REMOVAL"]

    vouchers.create_voucher(
        "LOYAL-TX-SDK",
        voucherify.VouchersCreateWithSpecificCodeRequestBody(
            type="LOYALTY_CARD", loyalty_card=voucherify.SimpleLoyaltyCard(points=10)
        ),
    )
    loyalties.update_loyalty_card_balance(
        "LOYAL-TX-SDK", voucherify.LoyaltiesMembersBalanceUpdateRequestBody(points=5)
    )
    points = vouchers.list_voucher_transactions("LOYAL-TX-SDK")
    assert [(t.type, t.details.balance.points) for t in points.data] == [("POINTS_ADDITION", 5)]
    assert points.data[0].details.balance.type == "loyalty_card"

    with pytest.raises(NotFoundException):
        vouchers.list_voucher_transactions("NO-SUCH-TX-SDK")
