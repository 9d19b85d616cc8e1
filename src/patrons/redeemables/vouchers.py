"""Vouchers: create (standalone or into a campaign), get, update, enable/disable, delete."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.clock import now_ms, parse_datetime_ms
from patrons.core.errors import DuplicateFound, InvalidPayload, NotFound
from patrons.core.origin import Origin
from patrons.db.database import Conn, Database, Row
from patrons.redeemables import balances, codes, holdings, repository
from patrons.redeemables.schemas import (
    VOUCHER_TYPE_OF,
    Voucher,
    VoucherTemplate,
    VoucherWrite,
)
from patrons.redeemables.wire import as_dict, voucher_to_wire

DISCOUNT_TYPES = {
    "AMOUNT": "amount_off",
    "PERCENT": "percent_off",
    "UNIT": "unit_off",
    "FIXED": "fixed_amount",
}
MAX_CODE_ATTEMPTS = 20


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


def check_discount(discount: dict[str, Any] | None) -> None:
    if discount is None:
        raise InvalidPayload("Property .discount is required for a DISCOUNT_VOUCHER")
    kind = discount.get("type")
    if kind not in DISCOUNT_TYPES:
        raise InvalidPayload("Property .discount.type must be one of AMOUNT, PERCENT, UNIT, FIXED")
    amount = discount.get(DISCOUNT_TYPES[kind])
    if kind != "UNIT" and (not isinstance(amount, int | float) or isinstance(amount, bool)):
        raise InvalidPayload(f"Property .discount.{DISCOUNT_TYPES[kind]} must be a number")
    if kind == "PERCENT" and not (isinstance(amount, int | float) and 0 <= amount <= 100):
        raise InvalidPayload("Property .discount.percent_off must be >= 0 and <= 100")


def _date(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_datetime_ms(value)
    except ValueError:
        raise InvalidPayload(f"Property .{name} must be an ISO 8601 date-time") from None


def _non_negative(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise InvalidPayload(f"Property .{name} must be >= 0")
    return value


def type_values(body: VoucherWrite | VoucherTemplate, voucher_type: str) -> dict[str, Any]:
    """The columns that carry a voucher type's value (discount, gift, loyalty card)."""
    if voucher_type == "DISCOUNT_VOUCHER":
        discount = body.discount if body.discount is not UNSET else None
        check_discount(discount)
        return {"discount": _json(discount)}
    if voucher_type == "GIFT_VOUCHER":
        gift = body.gift if body.gift is not UNSET else None
        if gift is None or gift.amount is None:
            raise InvalidPayload("Property .gift.amount is required for a GIFT_VOUCHER")
        amount = _non_negative(gift.amount, "gift.amount")
        return {"gift_amount": amount, "gift_balance": amount, "gift_effect": gift.effect}
    card = body.loyalty_card if body.loyalty_card is not UNSET else None
    points = _non_negative(card.points if card is not None else 0, "loyalty_card.points") or 0
    return {"loyalty_points": points, "loyalty_balance": points}


def new_values(
    body: VoucherWrite | VoucherTemplate,
    *,
    code: str,
    voucher_type: str,
    campaign: Row | None,
    now: int,
) -> dict[str, Any]:
    """A voucher row's columns from a request body or a campaign's template."""
    quantity = None
    if body.redemption not in (UNSET, None):
        quantity = _non_negative(body.redemption.quantity, "redemption.quantity")
    values: dict[str, Any] = {
        "id": ids.voucher_id(),
        "code": code,
        "campaign_id": campaign["id"] if campaign is not None else None,
        "type": voucher_type,
        **type_values(body, voucher_type),
        "redemption_quantity": quantity,
        "created_at": now,
    }
    if campaign is not None:
        values["start_date"] = campaign["start_date"]
        values["expiration_date"] = campaign["expiration_date"]
        values["is_referral_code"] = campaign["campaign_type"] == "REFERRAL_PROGRAM"
    if isinstance(body, VoucherWrite):
        values.update(_writable(body))
    return values


def template_of(campaign: Row) -> VoucherTemplate:
    return msgspec.json.decode(campaign["voucher"], type=VoucherTemplate)


async def draw_from_campaign(
    conn: Conn, *, project_id: str, campaign: Row, template: VoucherTemplate, now: int
) -> str | None:
    """One new voucher of the campaign with a random code from its code_config: its id, or
    None when the drawn code was taken (the caller draws again or gives up)."""
    values = new_values(
        template,
        code=codes.generate(template.code_config),
        voucher_type=template.type or "DISCOUNT_VOUCHER",
        campaign=campaign,
        now=now,
    )
    if await repository.insert_voucher(conn, project_id=project_id, values=values):
        return values["id"]
    return None


def _writable(body: VoucherWrite) -> dict[str, Any]:
    """Fields a caller may set on create and change on PUT (given ones only)."""
    out: dict[str, Any] = {}
    if body.category is not UNSET:
        out["category"] = body.category
    for name in ("start_date", "expiration_date"):
        value = getattr(body, name)
        if value is not UNSET:
            out[name] = _date(value, name)
    for name in ("validity_timeframe", "validity_hours", "validity_day_of_week"):
        value = getattr(body, name)
        if value is not UNSET:
            out[name] = _json(value)
    if body.validity_day_of_week not in (UNSET, None) and any(
        not 0 <= d <= 6 for d in body.validity_day_of_week
    ):
        raise InvalidPayload("Property .validity_day_of_week items must be >= 0 and <= 6")
    if body.active is not UNSET:
        out["active"] = True if body.active is None else body.active
    if body.additional_info is not UNSET:
        out["additional_info"] = body.additional_info
    if body.metadata is not UNSET:
        out["metadata"] = _json(body.metadata or {})
    return out


async def get_row(db: Database | Conn, *, project_id: str, code: str) -> Row:
    row = await repository.get_voucher(db, project_id=project_id, ref=code)
    if row is None:
        raise NotFound("voucher", code)
    return row


async def get(db: Database | Conn, *, project_id: str, code: str) -> Voucher:
    return voucher_to_wire(await get_row(db, project_id=project_id, code=code))


async def create(
    conn: Conn, *, project_id: str, body: VoucherWrite, code: str | None = None
) -> Voucher:
    """POST /v1/vouchers (code or code_config in the body) and POST /v1/vouchers/{code}."""
    campaign = None
    campaign_ref = body.campaign_id or body.campaign
    if campaign_ref:
        campaign = await repository.get_campaign(conn, project_id=project_id, ref=campaign_ref)
        if campaign is None:
            raise NotFound("campaign", campaign_ref)
    # Without `type` a voucher is its campaign's kind, or (standalone) a DISCOUNT_VOUCHER, as
    # in Voucherify (two official SDK tests create vouchers so).
    voucher_type = body.type or (
        VOUCHER_TYPE_OF[campaign["campaign_type"]] if campaign is not None else "DISCOUNT_VOUCHER"
    )
    if campaign is not None and voucher_type != VOUCHER_TYPE_OF[campaign["campaign_type"]]:
        raise InvalidPayload(f"A {campaign['campaign_type']} campaign holds no {voucher_type}")
    given = code if code is not None else (body.code or None)
    if given is not None:
        check_code(given)
    config = body.code_config if body.code_config is not UNSET else None
    codes.check(config)
    now = now_ms()
    for _ in range(MAX_CODE_ATTEMPTS):
        candidate = given if given is not None else codes.generate(config)
        values = new_values(
            body, code=candidate, voucher_type=voucher_type, campaign=campaign, now=now
        )
        if await repository.insert_voucher(conn, project_id=project_id, values=values):
            return await get(conn, project_id=project_id, code=candidate)
        if given is not None:
            raise DuplicateFound(f"A voucher with code '{given}' already exists")
    raise DuplicateFound("Could not find a free code for this code_config; widen it")


def check_code(code: str) -> None:
    if not code.strip() or len(code) > codes.MAX_CODE_LENGTH:
        raise InvalidPayload(f"Property .code must be 1 to {codes.MAX_CODE_LENGTH} characters")


async def update(conn: Conn, *, project_id: str, code: str, body: VoucherWrite) -> Voucher:
    found = await get_row(conn, project_id=project_id, code=code)
    # Read again under the row lock: the balance arithmetic below must see the latest row.
    row = await repository.get_voucher_by_id(
        conn, project_id=project_id, voucher_id=found["id"], lock=True
    )
    if row is None:  # deleted between the two reads
        raise NotFound("voucher", code)
    # `type` cannot change and is ignored: the Python SDK's update body always sends its default
    # DISCOUNT_VOUCHER, whatever the voucher is (a gift card, a loyalty card).
    changes = _writable(body)
    if row["type"] == "DISCOUNT_VOUCHER" and body.discount not in (UNSET, None):
        check_discount(body.discount)
        changes["discount"] = _json(body.discount)
    if row["type"] == "GIFT_VOUCHER" and body.gift not in (UNSET, None):
        if body.gift.amount is not None:
            # New amount: the balance moves by the same difference (what was spent stays spent).
            amount = _non_negative(body.gift.amount, "gift.amount") or 0
            spent = (row["gift_amount"] or 0) - (row["gift_balance"] or 0)
            changes["gift_amount"], changes["gift_balance"] = amount, max(0, amount - spent)
        if body.gift.effect is not None:
            changes["gift_effect"] = body.gift.effect
    card = body.loyalty_card
    if row["type"] == "LOYALTY_CARD" and card not in (UNSET, None) and card.points is not None:
        points = _non_negative(card.points, "loyalty_card.points") or 0
        spent = (row["loyalty_points"] or 0) - (row["loyalty_balance"] or 0)
        changes["loyalty_points"], changes["loyalty_balance"] = points, max(0, points - spent)
    if body.redemption not in (UNSET, None):
        changes["redemption_quantity"] = _non_negative(
            body.redemption.quantity, "redemption.quantity"
        )
    if changes:
        changes["updated_at"] = now_ms()
        await repository.update_voucher(
            conn, project_id=project_id, voucher_id=row["id"], changes=changes
        )
        await balances.record_update(
            conn,
            project_id=project_id,
            voucher_id=row["id"],
            credits=changes.get("gift_balance", row["gift_balance"] or 0)
            - (row["gift_balance"] or 0),
            points=changes.get("loyalty_balance", row["loyalty_balance"] or 0)
            - (row["loyalty_balance"] or 0),
        )
        await holdings.refresh_voucher_holders(conn, project_id=project_id, voucher_id=row["id"])
    return await get(conn, project_id=project_id, code=row["code"])


async def set_active(conn: Conn, *, project_id: str, code: str, active: bool) -> Voucher:
    row = await get_row(conn, project_id=project_id, code=code)
    await repository.update_voucher(
        conn,
        project_id=project_id,
        voucher_id=row["id"],
        changes={"active": active, "updated_at": now_ms()},
    )
    return await get(conn, project_id=project_id, code=row["code"])


async def delete(conn: Conn, *, project_id: str, code: str, origin: Origin) -> None:
    """Deletes the voucher with its holders and publications; holders get an event."""
    row = await get_row(conn, project_id=project_id, code=code)
    holders = await repository.holders_of_voucher(conn, project_id=project_id, voucher_id=row["id"])
    customer_ids = sorted({h["customer_id"] for h in holders})
    if customer_ids:
        await activities.record(
            conn,
            project_id=project_id,
            customer_ids=customer_ids,
            type_="customer.voucher.deleted",
            origin=origin,
            extra={"voucher": as_dict(voucher_to_wire(row))},
            campaign=(row["campaign_id"], row["campaign_type"]),
        )
    await repository.delete_voucher(conn, project_id=project_id, voucher_id=row["id"])
    await holdings.refresh(conn, project_id=project_id, customer_ids=customer_ids)
