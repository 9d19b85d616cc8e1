"""What one voucher does to an order: the checks a redeemable must pass, then its discount,
gift credits or loyalty points on the order's running total. Pure: no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from patrons.redemptions.schemas import Inapplicable


@dataclass(slots=True)
class Effect:
    discount: int = 0  # order-level amount off (gift credits included)
    items_discount: int = 0  # item-level amount off (UNIT discounts)
    credits: int = 0  # gift card credits taken
    points: int = 0  # loyalty points taken
    result: dict[str, Any] = field(default_factory=dict)  # the wire `result`


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def check(
    voucher: Mapping[str, Any],
    *,
    now: int,
    customer_id: str | None,
    campaign_active: bool = True,
) -> None:
    """Raise the spec's error when the voucher cannot be used now by this customer."""
    code = voucher["code"]
    if not campaign_active:
        raise Inapplicable(
            "campaign_disabled", "Campaign is disabled", f"{code}'s campaign is disabled", code=code
        )
    if not voucher["active"]:
        raise Inapplicable(
            "voucher_disabled", "Voucher is disabled", f"{code} is disabled", code=code
        )
    if voucher["start_date"] is not None and now < voucher["start_date"]:
        raise Inapplicable(
            "voucher_not_active", "Voucher not active", f"{code} is not active yet", code=code
        )
    if voucher["expiration_date"] is not None and now > voucher["expiration_date"]:
        raise Inapplicable("voucher_expired", "Voucher expired", f"{code} has expired", code=code)
    quantity = voucher["redemption_quantity"]
    if quantity is not None and voucher["redeemed_quantity"] >= quantity:
        raise Inapplicable(
            "quantity_exceeded", "Quantity exceeded", f"{code} has no redemptions left", code=code
        )
    if voucher["type"] == "LOYALTY_CARD" and voucher["holder_id"] not in (None, customer_id):
        raise Inapplicable(
            "customer_rules_violated",
            "Customer does not match the loyalty card holder",
            f"{code} belongs to another customer",
            code=code,
        )


def apply(
    voucher: Mapping[str, Any],
    *,
    total: int | None,
    items: list[dict[str, Any]] | None,
    credits: int | None = None,
    points: int | None = None,
) -> Effect:
    """The voucher's effect on an order whose amount still to pay is `total` (None: no
    amount given). Raises Inapplicable when a gift or loyalty card cannot cover the ask."""
    code = voucher["code"]
    kind = voucher["type"]
    remaining = max(0, total or 0)
    if kind == "GIFT_VOUCHER":
        balance = int(voucher["gift_balance"] or 0)
        if credits is not None and credits < 0:
            raise Inapplicable(
                "invalid_payload", "Invalid payload", "gift.credits must be >= 0", code=code
            )
        wanted = remaining if credits is None else credits
        if balance <= 0 or (credits is not None and credits > balance):
            raise Inapplicable(
                "gift_amount_exceeded",
                "Gift amount exceeded",
                f"{code} holds {balance}, less than asked",
                code=code,
            )
        taken = min(balance, wanted, remaining) if total is not None else 0
        return Effect(
            discount=taken, credits=taken, result={"gift": {"balance": balance, "credits": taken}}
        )
    if kind == "LOYALTY_CARD":
        balance = int(voucher["loyalty_balance"] or 0)
        wanted = 0 if points is None else points
        if wanted < 0:
            raise Inapplicable(
                "invalid_payload", "Invalid payload", "reward.points must be >= 0", code=code
            )
        if wanted > balance:
            raise Inapplicable(
                "loyalty_card_points_exceeded",
                "Loyalty card points exceeded",
                f"{code} holds {balance} points, less than asked",
                code=code,
            )
        return Effect(points=wanted, result={"loyalty_card": {"points": wanted}})
    discount = _json(voucher["discount"]) or {}
    off, items_off = _discount(discount, remaining=remaining, items=items or [])
    return Effect(discount=off, items_discount=items_off, result={"discount": discount})


def _discount(
    discount: Mapping[str, Any], *, remaining: int, items: list[dict[str, Any]]
) -> tuple[int, int]:
    """(order-level, item-level) amounts off for a DISCOUNT_VOUCHER's discount."""
    kind = discount.get("type")
    if kind == "AMOUNT":
        return min(remaining, int(discount.get("amount_off") or 0)), 0
    if kind == "PERCENT":
        off = int(remaining * float(discount.get("percent_off") or 0) / 100)
        limit = discount.get("amount_limit")
        if isinstance(limit, int | float) and limit > 0:
            off = min(off, int(limit))
        return min(remaining, off), 0
    if kind == "FIXED":
        return max(0, remaining - int(discount.get("fixed_amount") or 0)), 0
    if kind == "UNIT":
        target, units = discount.get("unit_type"), int(discount.get("unit_off") or 0)
        for item in items:
            if target is not None and target in (
                item.get("product_id"),
                item.get("sku_id"),
                item.get("source_id"),
            ):
                price = int(item.get("price") or 0)
                quantity = int(item.get("quantity") or 0)
                return 0, min(remaining, price * min(units, quantity))
        return 0, 0
    return 0, 0
