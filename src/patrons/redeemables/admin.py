"""Campaign and voucher operations the official SDK suites set up and clean up with (issue
17): add vouchers to a campaign, update / enable / disable / delete a campaign, list
vouchers, and change a loyalty card's or gift card's balance."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from patrons.activities import service as activities
from patrons.async_actions import service as async_actions
from patrons.core import pagination
from patrons.core.clock import now_ms
from patrons.core.errors import DuplicateFound, InvalidPayload, InvalidQueryParams, NotFound
from patrons.core.origin import Origin
from patrons.db.database import Conn, Database
from patrons.redeemables import (
    admin_repository,
    balances,
    campaigns,
    holdings,
    repository,
    vouchers,
)
from patrons.redeemables.campaigns import GENERATE
from patrons.redeemables.schemas import Campaign, Voucher
from patrons.redeemables.vouchers import check_code, draw_from_campaign, new_values, template_of
from patrons.redeemables.wire import voucher_to_wire

MAX_ADD = 1_000_000
Delta = Annotated[int, Meta(ge=-(10**15), le=10**15)]


class CampaignUpdate(Struct, kw_only=True):
    """PUT /v1/campaigns/{id}: absent keeps, null clears (dates, description)."""

    description: str | UnsetType | None = UNSET
    start_date: str | UnsetType | None = UNSET
    expiration_date: str | UnsetType | None = UNSET
    active: bool | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    auto_join: bool | UnsetType | None = UNSET
    join_once: bool | UnsetType | None = UNSET


class BalanceUpdate(Struct, kw_only=True):
    """LoyaltiesMembersBalanceUpdateRequestBody / VouchersBalanceUpdateRequestBody."""

    points: Delta | UnsetType | None = UNSET
    amount: Delta | UnsetType | None = UNSET
    source_id: str | UnsetType | None = UNSET
    reason: str | UnsetType | None = UNSET
    expiration_type: str | UnsetType | None = UNSET
    expiration_date: str | UnsetType | None = UNSET


class Balance(Struct, kw_only=True):
    points: int | UnsetType = UNSET
    amount: int | UnsetType = UNSET
    total: int
    balance: int
    type: Literal["loyalty_card", "gift_voucher"]
    object: str = "balance"
    related_object: dict[str, str]
    operation_type: str = "MANUAL"


class VoucherList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "vouchers"
    vouchers: list[Voucher]
    total: int


async def add_vouchers(
    conn: Conn,
    *,
    project_id: str,
    ref: str,
    count: int | None,
    code: str | None,
    origin: Origin,
) -> Voucher | dict[str, str]:
    """POST /v1/campaigns/{id}/vouchers[/{code}]: one voucher (a given or drawn code), or
    `vouchers_count` > 1 drawn by the CAMPAIGN.VOUCHERS_GENERATE job (its async action)."""
    campaign = await campaigns.get_row(conn, project_id=project_id, ref=ref)
    template = template_of(campaign)
    now = now_ms()
    if code is None and count is not None and count > 1:
        if count > MAX_ADD:
            raise InvalidQueryParams(f"Property .vouchers_count must be <= {MAX_ADD}")
        action_id = await async_actions.enqueue(
            conn,
            project_id=project_id,
            type_=GENERATE,
            request_id=origin.request_id,
            payload=msgspec.json.encode({"campaign_id": campaign["id"], "count": count}),
        )
        return {"async_action_id": action_id}
    if code is not None:
        check_code(code)
        values = new_values(
            template,
            code=code,
            voucher_type=template.type or "DISCOUNT_VOUCHER",
            campaign=campaign,
            now=now,
        )
        if not await repository.insert_voucher(conn, project_id=project_id, values=values):
            raise DuplicateFound(f"A voucher with code '{code}' already exists")
        return await vouchers.get(conn, project_id=project_id, code=code)
    for _ in range(vouchers.MAX_CODE_ATTEMPTS):
        voucher_id = await draw_from_campaign(
            conn, project_id=project_id, campaign=campaign, template=template, now=now
        )
        if voucher_id is not None:
            return await vouchers.get(conn, project_id=project_id, code=voucher_id)
    raise InvalidPayload("Could not find a free code for the campaign's code_config")


async def update_campaign(
    conn: Conn, *, project_id: str, ref: str, body: CampaignUpdate
) -> Campaign:
    row = await campaigns.get_row(conn, project_id=project_id, ref=ref)
    changes: dict[str, Any] = {}
    validity: dict[str, Any] = {}
    for name in ("start_date", "expiration_date"):
        value = getattr(body, name)
        if value is not UNSET:
            validity[name] = vouchers._date(value, name)
    if body.description is not UNSET:
        changes["description"] = body.description
    if body.active is not UNSET:
        changes["active"] = True if body.active is None else body.active
    if body.metadata is not UNSET:
        changes["metadata"] = msgspec.json.encode(body.metadata or {}).decode()
    for name in ("auto_join", "join_once"):
        value = getattr(body, name)
        if value is not UNSET:
            changes[name] = bool(value)
    if changes or validity:
        await admin_repository.update_campaign(
            conn,
            project_id=project_id,
            campaign_id=row["id"],
            changes={**changes, **validity, "updated_at": now_ms()},
        )
    if validity:
        await admin_repository.update_campaign_vouchers(
            conn, project_id=project_id, campaign_id=row["id"], changes=validity
        )
    return await campaigns.get(conn, project_id=project_id, ref=row["id"])


async def set_campaign_active(conn: Conn, *, project_id: str, ref: str, active: bool) -> Campaign:
    return await update_campaign(
        conn, project_id=project_id, ref=ref, body=CampaignUpdate(active=active)
    )


async def delete_campaign(conn: Conn, *, project_id: str, ref: str) -> None:
    """The campaign with its vouchers (Voucherify's default, `force` or not: the codes are
    not kept for reuse here); their holders' stored holdings recomputed."""
    row = await campaigns.get_row(conn, project_id=project_id, ref=ref)
    customer_ids = await admin_repository.campaign_holders(
        conn, project_id=project_id, campaign_id=row["id"]
    )
    await admin_repository.delete_campaign(conn, project_id=project_id, campaign_id=row["id"])
    await holdings.refresh(conn, project_id=project_id, customer_ids=customer_ids)


async def list_vouchers(db: Database, *, project_id: str, params: dict[str, str]) -> VoucherList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=1000)
    order = params.get("order") or "-created_at"
    if order not in ("created_at", "-created_at"):
        raise InvalidQueryParams("Property .order must be one of created_at, -created_at")
    campaign_id = None
    ref = params.get("campaign_id") or params.get("campaign")
    if ref:
        try:
            campaign_id = (await campaigns.get_row(db, project_id=project_id, ref=ref))["id"]
        except NotFound:
            return VoucherList(vouchers=[], total=0)
    rows = await admin_repository.list_vouchers(
        db,
        project_id=project_id,
        campaign_id=campaign_id,
        descending=order.startswith("-"),
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await admin_repository.count_vouchers(
        db, project_id=project_id, campaign_id=campaign_id
    )
    return VoucherList(vouchers=[voucher_to_wire(r) for r in rows], total=total)


async def change_balance(
    conn: Conn,
    *,
    project_id: str,
    code: str,
    body: BalanceUpdate,
    origin: Origin,
    campaign_ref: str | None = None,
) -> Balance:
    """A loyalty card gains (or loses) `points`, a gift card `amount`; the holders' stored
    holdings follow and the holders get the card's event."""
    found = await vouchers.get_row(conn, project_id=project_id, code=code)
    if campaign_ref is not None:
        campaign = await campaigns.get_row(conn, project_id=project_id, ref=campaign_ref)
        if found["campaign_id"] != campaign["id"]:
            raise NotFound("voucher", code)
    voucher_id = found["id"]
    if found["type"] == "LOYALTY_CARD":
        delta = body.points if isinstance(body.points, int) else None
        if delta is None:
            raise InvalidPayload("Property .points is required for a loyalty card")
        event = "customer.voucher.loyalty_card.points_added"
    elif found["type"] == "GIFT_VOUCHER":
        delta = body.amount if isinstance(body.amount, int) else None
        if delta is None:
            raise InvalidPayload("Property .amount is required for a gift card")
        event = "customer.voucher.gift.balance_added"
    else:
        raise InvalidPayload("Only loyalty cards and gift cards have a balance")
    ok = await balances.adjust(
        conn,
        project_id=project_id,
        voucher_id=voucher_id,
        loyalty=found["type"] == "LOYALTY_CARD",
        delta=delta,
        source_id=body.source_id if isinstance(body.source_id, str) else None,
        reason=body.reason if isinstance(body.reason, str) else None,
    )
    if not ok:
        raise InvalidPayload("The balance cannot go below zero")
    row = await repository.get_voucher_by_id(conn, project_id=project_id, voucher_id=voucher_id)
    assert row is not None
    holders = await repository.holders_of_voucher(
        conn, project_id=project_id, voucher_id=voucher_id
    )
    customer_ids = sorted({h["customer_id"] for h in holders})
    await holdings.refresh(conn, project_id=project_id, customer_ids=customer_ids)
    loyalty = row["type"] == "LOYALTY_CARD"
    balance = Balance(
        total=int((row["loyalty_points"] if loyalty else row["gift_amount"]) or 0),
        balance=int((row["loyalty_balance"] if loyalty else row["gift_balance"]) or 0),
        type="loyalty_card" if loyalty else "gift_voucher",
        related_object={"type": "voucher", "id": voucher_id},
    )
    if loyalty:
        balance.points = delta
    else:
        balance.amount = delta
    if customer_ids:
        await activities.record(
            conn,
            project_id=project_id,
            customer_ids=customer_ids,
            type_=event,
            origin=origin,
            extra={
                "voucher": msgspec.json.decode(msgspec.json.encode(voucher_to_wire(row))),
                "balance": msgspec.json.decode(msgspec.json.encode(balance)),
            },
            campaign=(row["campaign_id"], row["campaign_type"]),
        )
    return balance


async def loyalty_member(
    db: Database, *, project_id: str, code: str, campaign_ref: str | None
) -> Voucher:
    """GET /v1/loyalties/[{campaignId}/]members/{memberId}: the loyalty card."""
    row = await vouchers.get_row(db, project_id=project_id, code=code)
    if row["type"] != "LOYALTY_CARD":
        raise NotFound("voucher", code)
    if campaign_ref is not None:
        campaign = await campaigns.get_row(db, project_id=project_id, ref=campaign_ref)
        if row["campaign_id"] != campaign["id"]:
            raise NotFound("voucher", code)
    return voucher_to_wire(row)
