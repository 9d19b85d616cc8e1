"""Publications: a voucher (a given code, or the next free one of a campaign) given to a customer.

Publishing makes the customer the voucher's holder (an OWNER row; REFERRER for a referral
code), bumps the voucher's publish count and records `customer.publication.succeeded`. A
failure for a known customer is recorded as `customer.publication.failed` in its own
transaction, since the failed request's own transaction rolls back.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, NotFound, PatronsError
from patrons.core.jsonraw import raw_json
from patrons.core.limits import CHANNEL_MAX, SOURCE_ID_MAX
from patrons.core.origin import Origin
from patrons.customers import named
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db.database import Conn, Database, Row
from patrons.redeemables import holdings, repository
from patrons.redeemables.schemas import Publication
from patrons.redeemables.vouchers import draw_from_campaign, template_of
from patrons.redeemables.wire import as_dict, voucher_to_wire

MAX_PER_PUBLICATION = 50


class PublicationCampaign(Struct):
    name: str
    count: int | None = None


class PublicationCreate(Struct, kw_only=True):
    voucher: str | None = None
    campaign: PublicationCampaign | str | None = None
    customer: CustomerCreate | None = None
    source_id: Annotated[str, Meta(max_length=SOURCE_ID_MAX)] | None = None
    channel: Annotated[str, Meta(max_length=CHANNEL_MAX)] | None = None
    metadata: dict[str, Any] | None = None


class VoucherCannotBePublished(PatronsError):
    status = 400
    key = "voucher_cannot_be_published"
    message = "Voucher cannot be published"


class VoucherAlreadyPublished(PatronsError):
    status = 400
    key = "voucher_already_published"
    message = "Voucher already published"


class DuplicateSourceId(PatronsError):
    status = 400
    key = "duplicate_source_id"
    message = "Duplicate source_id"


class TooManyVouchers(PatronsError):
    status = 400
    key = "too_many_vouchers_requested"
    message = "Too many vouchers requested"


class NoVoucherAvailable(PatronsError):
    status = 400
    key = "no_voucher_suitable_for_publication"
    message = "Couldn't find any voucher suitable for publication."


class InvalidCustomer(PatronsError):
    status = 400
    key = "customer_rules_violated"
    message = "Customer data is missing"


async def resolve_customer(
    conn: Conn, *, project_id: str, customer: CustomerCreate | None, origin: Origin
) -> Row:
    """The customer named by id (must exist), source_id (created when new) or `email` alone
    (matched case-insensitively, else created); profile fields sent along upsert it."""
    if customer is not None and not customer.id and not customer.source_id and customer.email:
        return await named.resolve_by_email(
            conn, project_id=project_id, customer=customer, origin=origin
        )
    if customer is None or (not customer.id and not customer.source_id):
        raise InvalidCustomer("Property .customer must carry an id, a source_id or an email")
    row = await named.resolve_named(conn, project_id=project_id, customer=customer, origin=origin)
    assert row is not None  # an id or a source_id always names someone
    return row


def simple_customer(row: Row) -> dict[str, Any]:
    metadata = row["metadata"]
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "source_id": row["source_id"],
        "metadata": msgspec.json.decode(metadata) if isinstance(metadata, str) else metadata,
        "object": "customer",
    }


async def _auto_voucher(conn: Conn, project_id: str, campaign: Row) -> str:
    """A fresh voucher for an auto-update campaign that has no free one left."""
    template = template_of(campaign)
    now = now_ms()
    for _ in range(20):
        voucher_id = await draw_from_campaign(
            conn, project_id=project_id, campaign=campaign, template=template, now=now
        )
        if voucher_id is not None:
            return voucher_id
    raise NoVoucherAvailable("The campaign's code_config has no free codes left")


async def _pick(conn: Conn, project_id: str, campaign: Row, customer_id: str) -> str:
    if not campaign["active"]:
        raise VoucherCannotBePublished("Campaign is disabled")
    if campaign["join_once"]:
        held = await repository.campaign_voucher_of(
            conn, project_id=project_id, campaign_id=campaign["id"], customer_id=customer_id
        )
        if held is not None:
            if campaign["campaign_type"] == "LOYALTY_PROGRAM":
                raise VoucherCannotBePublished(
                    "Voucher cannot be published. Customer already joined program."
                )
            return held  # join_once: the same code again
    voucher_id = await repository.next_free_voucher(
        conn, project_id=project_id, campaign_id=campaign["id"]
    )
    if voucher_id is not None:
        return voucher_id
    if campaign["type"] == "AUTO_UPDATE":
        return await _auto_voucher(conn, project_id, campaign)
    raise NoVoucherAvailable(f"Campaign '{campaign['name']}' has no voucher left to publish")


async def assign(
    conn: Conn, *, project_id: str, voucher: Row, customer_id: str, now: int, fresh: bool = True
) -> None:
    """Make the customer the voucher's holder (OWNER, or REFERRER for a referral code)."""
    if fresh:
        await repository.update_voucher(
            conn,
            project_id=project_id,
            voucher_id=voucher["id"],
            changes={
                "holder_id": customer_id,
                "publish_count": voucher["publish_count"] + 1,
                "updated_at": now,
            },
        )
    await repository.insert_holder(
        conn,
        project_id=project_id,
        values={
            "id": ids.holder_id(now),
            "customer_id": customer_id,
            "redeemable_id": voucher["id"],
            "holder_role": "REFERRER" if voucher["is_referral_code"] else "OWNER",
            "campaign_id": voucher["campaign_id"],
            "campaign_type": voucher["campaign_type"],
            "voucher_type": voucher["type"],
            "created_at": now,
        },
    )


async def _publish_one(
    conn: Conn, project_id: str, *, voucher_id: str, customer_id: str, now: int
) -> Row:
    # Lock before reading: a concurrent publication of the same code must see our holder.
    voucher = await repository.get_voucher_by_id(
        conn, project_id=project_id, voucher_id=voucher_id, lock=True
    )
    assert voucher is not None
    if voucher["holder_id"] == customer_id:
        await assign(
            conn,
            project_id=project_id,
            voucher=voucher,
            customer_id=customer_id,
            now=now,
            fresh=False,
        )
        return voucher
    if voucher["holder_id"] is not None:
        raise VoucherAlreadyPublished(f"Voucher '{voucher['id']}' has already been published")
    if not voucher["active"]:
        raise VoucherCannotBePublished("Voucher is disabled")
    await assign(conn, project_id=project_id, voucher=voucher, customer_id=customer_id, now=now)
    return voucher


async def create(
    conn: Conn, *, project_id: str, body: PublicationCreate, origin: Origin
) -> Publication:
    if body.voucher is None and body.campaign is None:
        raise InvalidPayload("Property .voucher or .campaign is required")
    customer = await resolve_customer(
        conn, project_id=project_id, customer=body.customer, origin=origin
    )
    if body.source_id:
        earlier = await repository.publication_by_source_id(
            conn, project_id=project_id, source_id=body.source_id
        )
        if earlier is not None:
            if earlier["customer_id"] != customer["id"]:
                raise DuplicateSourceId(
                    f"Publication with source_id: '{body.source_id}' already exists"
                )
            return await _replay(conn, project_id, earlier, customer)
    now = now_ms()
    campaign = None
    if body.voucher is not None:
        voucher = await repository.get_voucher(conn, project_id=project_id, ref=body.voucher)
        if voucher is None:
            raise NotFound("voucher", body.voucher)
        published = [
            await _publish_one(
                conn, project_id, voucher_id=voucher["id"], customer_id=customer["id"], now=now
            )
        ]
    else:
        name, count = (
            (body.campaign, 1)
            if isinstance(body.campaign, str)
            else (body.campaign.name, body.campaign.count or 1)  # type: ignore[union-attr]
        )
        if not 1 <= count <= MAX_PER_PUBLICATION or (body.source_id and count > 1):
            raise TooManyVouchers(
                f"Only up to {1 if body.source_id else MAX_PER_PUBLICATION} can be published"
            )
        campaign = await repository.get_campaign(conn, project_id=project_id, ref=name)
        if campaign is None:
            raise NotFound("campaign", name)
        # Each pick is published before the next, so the next free voucher is another one.
        published = []
        for _ in range(count):
            picked = await _pick(conn, project_id, campaign, customer["id"])
            published.append(
                await _publish_one(
                    conn, project_id, voucher_id=picked, customer_id=customer["id"], now=now
                )
            )
    publication_id = ids.publication_id()
    for voucher in published:
        await repository.insert_publication(
            conn,
            project_id=project_id,
            values={
                "id": publication_id if voucher is published[0] else ids.publication_id(),
                "source_id": body.source_id,
                "customer_id": customer["id"],
                "voucher_id": voucher["id"],
                "campaign_id": voucher["campaign_id"],
                "channel": body.channel or "API",
                "metadata": msgspec.json.encode(body.metadata or {}).decode(),
                "created_at": now,
            },
        )
    await holdings.refresh(conn, project_id=project_id, customer_ids=[customer["id"]])
    result = await _render(
        conn,
        project_id,
        publication_id=publication_id,
        created_at=now,
        customer=customer,
        voucher_ids=[v["id"] for v in published],
        source_id=body.source_id,
        metadata=body.metadata or {},
    )
    first = published[0]
    await activities.record(
        conn,
        project_id=project_id,
        customer_ids=[customer["id"]],
        type_="customer.publication.succeeded",
        origin=origin,
        extra={"publication": as_dict(result)},
        campaign=(first["campaign_id"], first["campaign_type"]),
        now=now,
    )
    return result


async def _render(
    db: Database | Conn,
    project_id: str,
    *,
    publication_id: str,
    created_at: int,
    customer: Row,
    voucher_ids: list[str],
    source_id: str | None,
    metadata: dict[str, Any] | Any,
) -> Publication:
    vouchers = [
        await repository.get_voucher_by_id(db, project_id=project_id, voucher_id=v)
        for v in voucher_ids
    ]
    return Publication(
        id=publication_id,
        created_at=format_ms(created_at),
        customer_id=customer["id"],
        tracking_id=customer["source_id"],
        metadata=raw_json(metadata) or raw_json({}),  # type: ignore[arg-type]
        # The Python SDK accepts only "API" here; the caller's channel is stored.
        channel="API",
        source_id=source_id,
        customer=raw_json(simple_customer(customer)),  # type: ignore[arg-type]
        vouchers_id=voucher_ids,
        voucher=voucher_to_wire(vouchers[0]) if len(vouchers) == 1 else None,  # type: ignore[arg-type]
        vouchers=[v["code"] for v in vouchers] if len(vouchers) > 1 else None,  # type: ignore[index]
    )


async def _replay(conn: Conn, project_id: str, earlier: Row, customer: Row) -> Publication:
    """The publication made earlier with this source_id, unchanged (idempotent retry)."""
    return await _render(
        conn,
        project_id,
        publication_id=earlier["id"],
        created_at=earlier["created_at"],
        customer=customer,
        voucher_ids=[earlier["voucher_id"]],
        source_id=earlier["source_id"],
        metadata=earlier["metadata"],
    )


async def record_failure(
    db: Database, *, project_id: str, body: PublicationCreate, error: PatronsError, origin: Origin
) -> None:
    """`customer.publication.failed` for a customer that exists, after the rollback."""
    ref = None
    if body.customer is not None:
        ref = body.customer.id or body.customer.source_id
    if not isinstance(ref, str) or not ref:
        return
    async with db.transaction() as conn:
        row = await customers.resolve(conn, project_id=project_id, ref=ref)
        if row is None:
            return
        await activities.record(
            conn,
            project_id=project_id,
            customer_ids=[row["id"]],
            type_="customer.publication.failed",
            origin=origin,
            extra={
                "publication": {
                    "voucher": body.voucher,
                    "campaign": body.campaign
                    if isinstance(body.campaign, str | None)
                    else body.campaign.name,
                    "source_id": body.source_id,
                    "result": "FAILURE",
                },
                "error": {
                    "code": error.status,
                    "key": error.key,
                    "message": error.message,
                    "details": error.details,
                },
            },
        )
