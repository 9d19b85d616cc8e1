"""Holders: a customer's redeemables, loyalty members, referral code holders (referees)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.clock import now_ms
from patrons.core.errors import InvalidPayload, NotFound, ResourceInUse
from patrons.core.origin import Origin
from patrons.customers.schemas import CustomerCreate
from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.redeemables import holdings, listing, publications, repository
from patrons.redeemables.schemas import (
    CustomerRedeemable,
    CustomerRedeemableList,
    Holder,
    RedeemableView,
    Voucher,
)
from patrons.redeemables.wire import (
    as_dict,
    holder_fields,
    holder_to_wire,
    status_of,
    voucher_to_wire,
)

MAX_HOLDERS = 100


class HoldersCreate(Struct, kw_only=True):
    holders: list[CustomerCreate]
    metadata: dict[str, Any] | None = None


class HoldersCreated(Struct):
    holders: list[Holder]


class HolderList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[Holder]
    total: int
    has_more: bool
    more_starting_after: str | UnsetType = UNSET  # absent on the last page (not nullable)


class MemberCreate(Struct, kw_only=True):
    customer: CustomerCreate | None = None
    voucher: str | None = None
    source_id: str | None = None
    channel: str | None = None
    metadata: dict[str, Any] | None = None


async def _vouchers_by_id(db: Database | Conn, project_id: str, voucher_ids: list[str]) -> dict:
    if not voucher_ids:
        return {}
    kind = kind_of(db)
    rows = await db.fetch(
        f"{repository.VOUCHER_SELECT} WHERE v.project_id = $1"
        f" AND {dialect.any_of_sql(kind, 'v.id', '$2')}",
        project_id,
        dialect.list_param(kind, sorted(set(voucher_ids))),
    )
    return {r["id"]: r for r in rows}


async def customer_redeemables(
    db: Database, *, project_id: str, customer_id: str, params: dict[str, Any]
) -> CustomerRedeemableList:
    page = await listing.page(
        db,
        project_id=project_id,
        scope=("customer_id", customer_id),
        params=params,
        fields=listing.CUSTOMER_FIELDS,
    )
    vouchers = await _vouchers_by_id(db, project_id, [r["redeemable_id"] for r in page.rows])
    now = now_ms()
    items = []
    for row in page.rows:
        voucher = vouchers.get(row["redeemable_id"])
        if voucher is None:  # deleted under our feet: its holder rows go with it
            continue
        items.append(
            CustomerRedeemable(
                **holder_fields(row),
                redeemable=RedeemableView(
                    type="voucher", voucher=voucher_to_wire(voucher), status=status_of(voucher, now)
                ),
            )
        )
    return CustomerRedeemableList(
        data=items,
        total=page.total,
        has_more=page.has_more,
        more_starting_after=page.more_starting_after,
    )


# --- loyalty programs -------------------------------------------------------------------------


async def add_member(
    conn: Conn, *, project_id: str, campaign_ref: str, body: MemberCreate, origin: Origin
) -> Voucher:
    """POST /v1/loyalties/{campaignId}/members: the customer gets the program's loyalty card."""
    campaign = await repository.get_campaign(conn, project_id=project_id, ref=campaign_ref)
    if campaign is None or campaign["campaign_type"] != "LOYALTY_PROGRAM":
        raise NotFound("campaign", campaign_ref)
    if body.voucher is not None:
        voucher = await repository.get_voucher(conn, project_id=project_id, ref=body.voucher)
        if voucher is None or voucher["campaign_id"] != campaign["id"]:
            raise NotFound("voucher", body.voucher)
    publication = await publications.create(
        conn,
        project_id=project_id,
        body=publications.PublicationCreate(
            voucher=body.voucher,
            campaign=None if body.voucher else publications.PublicationCampaign(campaign["id"]),
            customer=body.customer,
            source_id=body.source_id,
            channel=body.channel,
            metadata=body.metadata,
        ),
        origin=origin,
    )
    assert publication.voucher is not None
    return publication.voucher


# --- referral code holders --------------------------------------------------------------------


async def referral_code(
    db: Database | Conn, *, project_id: str, member_ref: str, campaign_ref: str | None
) -> Row:
    """The referral code named by code or `v_` id (within the campaign, when one is named)."""
    voucher = await repository.get_voucher(db, project_id=project_id, ref=member_ref)
    if voucher is None:
        raise NotFound("voucher", member_ref)
    if campaign_ref is not None:
        campaign = await repository.get_campaign(db, project_id=project_id, ref=campaign_ref)
        if campaign is None:
            raise NotFound("campaign", campaign_ref)
        if voucher["campaign_id"] != campaign["id"]:
            raise NotFound("voucher", member_ref)
    if not voucher["is_referral_code"]:
        raise InvalidPayload(f"Voucher '{voucher['code']}' is not a referral code")
    return voucher


async def add_holders(
    conn: Conn,
    *,
    project_id: str,
    member_ref: str,
    campaign_ref: str | None,
    body: HoldersCreate,
    origin: Origin,
) -> HoldersCreated:
    if not 1 <= len(body.holders) <= MAX_HOLDERS:
        raise InvalidPayload(f"Property .holders must hold 1 to {MAX_HOLDERS} customers")
    voucher = await referral_code(
        conn, project_id=project_id, member_ref=member_ref, campaign_ref=campaign_ref
    )
    if voucher["holder_id"] is None:
        raise InvalidPayload(f"Referral code '{voucher['code']}' has not been published yet")
    now = now_ms()
    created: list[Holder] = []
    for entry in body.holders:
        customer = await publications.resolve_customer(
            conn, project_id=project_id, customer=entry, origin=origin
        )
        if customer["id"] == voucher["holder_id"]:
            raise InvalidPayload("A referrer cannot be the referee of their own code")
        values = {
            "id": ids.holder_id(now),
            "customer_id": customer["id"],
            "redeemable_id": voucher["id"],
            "holder_role": "REFEREE",
            "campaign_id": voucher["campaign_id"],
            "campaign_type": voucher["campaign_type"],
            "voucher_type": voucher["type"],
            "created_at": now,
        }
        row = await repository.insert_holder(conn, project_id=project_id, values=values)
        if row is None:  # already a referee of this code: the existing row, no new event
            row = await repository.find_holder(
                conn,
                project_id=project_id,
                voucher_id=voucher["id"],
                customer_id=customer["id"],
                role="REFEREE",
            )
            if row is None:  # the conflicting row was deleted meanwhile
                raise ResourceInUse("The referee assignment changed concurrently; retry")
        else:
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=[customer["id"]],
                type_="customer.holder.assignment.created",
                origin=origin,
                extra={"holder": as_dict(holder_to_wire(row)), "metadata": body.metadata or {}},
                campaign=(voucher["campaign_id"], voucher["campaign_type"]),
                now=now,
            )
        holder = holder_to_wire(row)
        holder.metadata = body.metadata or {}
        created.append(holder)
    await holdings.refresh(
        conn,
        project_id=project_id,
        customer_ids=[voucher["holder_id"], *(h.customer_id for h in created)],
    )
    return HoldersCreated(holders=created)


async def list_holders(
    db: Database,
    *,
    project_id: str,
    member_ref: str,
    campaign_ref: str | None,
    params: dict[str, Any],
) -> HolderList:
    voucher = await referral_code(
        db, project_id=project_id, member_ref=member_ref, campaign_ref=campaign_ref
    )
    page = await listing.page(
        db,
        project_id=project_id,
        scope=("redeemable_id", voucher["id"]),
        params=params,
        fields=listing.HOLDER_FIELDS,
    )
    return HolderList(
        data=[holder_to_wire(r) for r in page.rows],
        total=page.total,
        has_more=page.has_more,
        more_starting_after=page.more_starting_after,
    )


async def remove_holder(
    conn: Conn,
    *,
    project_id: str,
    member_ref: str,
    campaign_ref: str | None,
    holder_id: str,
    origin: Origin,
) -> None:
    voucher = await referral_code(
        conn, project_id=project_id, member_ref=member_ref, campaign_ref=campaign_ref
    )
    row = await repository.get_holder(conn, project_id=project_id, holder_id=holder_id)
    if row is None or row["redeemable_id"] != voucher["id"] or row["holder_role"] != "REFEREE":
        raise NotFound("redeemable_holder", holder_id)
    await activities.record(
        conn,
        project_id=project_id,
        customer_ids=[row["customer_id"]],
        type_="customer.holder.assignment.deleted",
        origin=origin,
        extra={"holder": as_dict(holder_to_wire(row))},
        campaign=(voucher["campaign_id"], voucher["campaign_type"]),
    )
    await repository.delete_holder(conn, project_id=project_id, holder_id=holder_id)
    await holdings.refresh(
        conn, project_id=project_id, customer_ids=[row["customer_id"], voucher["holder_id"]]
    )
