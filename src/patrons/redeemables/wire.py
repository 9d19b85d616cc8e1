"""Database rows → wire objects: vouchers (with their computed status), campaigns, holders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from msgspec import Raw

from patrons.core.clock import format_ms
from patrons.core.jsonraw import raw_json
from patrons.redeemables.codes import DEFAULT_CHARSET, DEFAULT_LENGTH
from patrons.redeemables.schemas import Campaign, Holder, Voucher

EMPTY_OBJECT = Raw(b"{}")


def as_dict(value: Any) -> Any:
    """A wire struct as plain JSON data (for event payloads)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _ms(value: int | None) -> str | None:
    return None if value is None else format_ms(value)


def voucher_to_wire(row: Mapping[str, Any]) -> Voucher:
    code = row["code"]
    path = quote(code, safe="")
    gift = None
    if row["type"] == "GIFT_VOUCHER":
        amount, balance = row["gift_amount"] or 0, row["gift_balance"] or 0
        gift = {
            "amount": amount,
            "subtracted_amount": amount - balance,
            "balance": balance,
            "effect": row["gift_effect"] or "APPLY_TO_ORDER",
        }
    loyalty = None
    if row["type"] == "LOYALTY_CARD":
        points, balance = row["loyalty_points"] or 0, row["loyalty_balance"] or 0
        loyalty = {
            "points": points,
            "balance": balance,
            "expired_points": 0,
            "subtracted_points": points - balance,
            "pending_points": 0,
        }
    redemption: dict[str, Any] = {
        "quantity": row["redemption_quantity"],
        "redeemed_quantity": row["redeemed_quantity"],
        "object": "list",
        "url": f"/v1/vouchers/{path}/redemptions?page=1&limit=10",
    }
    if loyalty is not None:
        redemption["redeemed_points"] = 0
    return Voucher(
        id=row["id"],
        code=code,
        campaign=row["campaign_name"],
        campaign_id=row["campaign_id"],
        category=row["category"],
        category_id=None,
        categories=[],
        type=row["type"],
        discount=raw_json(row["discount"]),
        gift=gift,
        loyalty_card=loyalty,
        start_date=_ms(row["start_date"]),
        expiration_date=_ms(row["expiration_date"]),
        validity_timeframe=raw_json(row["validity_timeframe"]),
        validity_day_of_week=raw_json(row["validity_day_of_week"]),
        validity_hours=raw_json(row["validity_hours"]),
        active=bool(row["active"]),
        additional_info=row["additional_info"],
        metadata=raw_json(row["metadata"]) or EMPTY_OBJECT,
        assets=None,
        is_referral_code=bool(row["is_referral_code"]),
        created_at=format_ms(row["created_at"]),
        updated_at=_ms(row["updated_at"]),
        holder_id=row["holder_id"],
        referrer_id=row["referrer_id"],
        publish={
            "object": "list",
            "count": row["publish_count"],
            "url": f"/v1/vouchers/{path}/publications?page=1&limit=10",
        },
        redemption=redemption,
    )


def status_of(row: Mapping[str, Any], now: int) -> str:
    """The redeemable's status (WIRE-FORMAT §3.5), first matching rule wins."""
    if not row["active"]:
        return "DISABLED"
    if row["start_date"] is not None and now < row["start_date"]:
        return "NOT_ACTIVE_YET"
    if row["expiration_date"] is not None and now > row["expiration_date"]:
        return "EXPIRED"
    quantity = row["redemption_quantity"]
    if quantity is not None and row["redeemed_quantity"] >= quantity:
        return "USED"
    if row["type"] == "GIFT_VOUCHER" and not row["gift_balance"]:
        return "NO_BALANCE"
    if row["type"] == "LOYALTY_CARD" and not row["loyalty_balance"]:
        return "NO_BALANCE"
    return "ACTIVE"


def _campaign_voucher(value: Any) -> Raw:
    """The campaign's voucher template; the Python SDK's CampaignVoucher requires an object in
    `code_config`, so a campaign created without one shows the defaults its codes use."""
    template = msgspec.json.decode(value) if isinstance(value, str | bytes) else dict(value or {})
    if template.get("code_config") is None:
        template["code_config"] = {"length": DEFAULT_LENGTH, "charset": DEFAULT_CHARSET}
    return Raw(msgspec.json.encode(template))


def campaign_to_wire(row: Mapping[str, Any], *, vouchers_count: int) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        campaign_type=row["campaign_type"],
        type=row["type"],
        voucher=_campaign_voucher(row["voucher"]),
        auto_join=bool(row["auto_join"]),
        join_once=bool(row["join_once"]),
        vouchers_count=vouchers_count,
        start_date=_ms(row["start_date"]),
        expiration_date=_ms(row["expiration_date"]),
        active=bool(row["active"]),
        metadata=raw_json(row["metadata"]) or EMPTY_OBJECT,
        created_at=format_ms(row["created_at"]),
        updated_at=_ms(row["updated_at"]),
        vouchers_generation_status=row["vouchers_generation_status"],
        async_action_id=row["async_action_id"],
        referral_program=raw_json(row["referral_program"]),
    )


def holder_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A redeemable_holder row as the fields of HolderBase."""
    return {
        "id": row["id"],
        "created_at": format_ms(row["created_at"]),
        "redeemable_id": row["redeemable_id"],
        "redeemable_object": row["redeemable_object"],
        "customer_id": row["customer_id"],
        "holder_role": row["holder_role"],
        "campaign_id": row["campaign_id"],
        "campaign_type": row["campaign_type"],
        "voucher_type": row["voucher_type"],
    }


def holder_to_wire(row: Mapping[str, Any]) -> Holder:
    return Holder(**holder_fields(row))
