"""Validations and redemptions of vouchers (stackable and single), with what they move: the
voucher's uses and balances, the order's discounts, the customer's `summary.redemptions`
and events — all in the request's one transaction. Never commits.

A redemption is all or nothing: when any redeemable is inapplicable nothing is applied, the
caller rolls back and records the failures (`record_failures`) in a transaction of its own,
as Voucherify keeps failed redemptions (they count in `summary.redemptions.total_failed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET, Raw

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, NotFound
from patrons.core.origin import Origin
from patrons.customers import named
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db.database import Conn, Database, Row
from patrons.orders import service as orders
from patrons.orders.schemas import OrderWrite
from patrons.redeemables import balances, campaigns
from patrons.redeemables.wire import as_dict, voucher_to_wire
from patrons.redemptions import effects, repository
from patrons.redemptions.schemas import (
    MAX_REDEEMABLES,
    GiftCredits,
    Inapplicable,
    RedeemableRef,
    Redeemed,
    RedemptionFailed,
    Reward,
    StackableRequest,
    Validation,
)


def _encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _given(value: Any) -> bool:
    return value is not UNSET and value is not None


@dataclass(slots=True)
class Applied:
    """One redeemable's outcome on the order."""

    ref: RedeemableRef
    voucher: Row | None
    effect: effects.Effect | None = None
    error: Inapplicable | None = None


def check_refs(refs: Sequence[RedeemableRef]) -> None:
    if not 1 <= len(refs) <= MAX_REDEEMABLES:
        raise InvalidPayload(f"Property .redeemables must hold 1 to {MAX_REDEEMABLES} items")
    seen = set()
    for ref in refs:
        if ref.object != "voucher":
            raise InvalidPayload(f"Redeemables of type {ref.object} are not supported")
        if not ref.id or "\x00" in ref.id:
            raise InvalidPayload("Property .redeemables[].id must be a voucher code")
        if ref.id in seen:
            raise InvalidPayload(f"Redeemable {ref.id} is sent more than once")
        seen.add(ref.id)


async def _customer(
    conn: Conn, *, project_id: str, customer: Any, origin: Origin, create: bool
) -> Row | None:
    if not _given(customer):
        return None
    assert isinstance(customer, CustomerCreate)
    if create:
        return await named.resolve_named(
            conn, project_id=project_id, customer=customer, origin=origin
        )
    for ref in (customer.id, customer.source_id):  # a validation writes no customer
        if isinstance(ref, str) and ref:
            return await customers.resolve(conn, project_id=project_id, ref=ref)
    return None


def _items(order: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    items = order["items"]
    return msgspec.json.decode(items) if isinstance(items, str) else items


async def _evaluate(
    conn: Conn,
    *,
    project_id: str,
    refs: Sequence[RedeemableRef],
    order: Mapping[str, Any],
    customer_id: str | None,
    lock: bool,
) -> list[Applied]:
    """Each redeemable checked and applied in the order sent, on the order's running total."""
    found: dict[str, Row | None] = {}
    for ref in refs:
        found[ref.id] = await balances.find(conn, project_id=project_id, ref=ref.id)
    if lock:  # lock in id order, so concurrent stacked redemptions cannot deadlock
        for row in sorted((r for r in found.values() if r is not None), key=lambda r: r["id"]):
            locked = await balances.lock(conn, project_id=project_id, voucher_id=row["id"])
            found[row["code"]] = locked
    amount = order["amount"]
    total = (
        None
        if amount is None
        else int(amount) - int(order["discount_amount"]) - int(order["items_discount_amount"])
    )
    items, now, out = _items(order), now_ms(), []
    active: dict[str, bool] = {}
    for ref in refs:
        voucher = found.get(ref.id)
        applied = Applied(ref=ref, voucher=voucher)
        try:
            if voucher is None:
                raise Inapplicable(
                    "not_found",
                    "Resource not found",
                    f"Cannot find voucher with id {ref.id}",
                    code=ref.id,
                )
            effects.check(
                voucher,
                now=now,
                customer_id=customer_id,
                campaign_active=await _campaign_active(conn, project_id, voucher, active),
            )
            credits = ref.gift.credits if isinstance(ref.gift, GiftCredits) else None
            points = ref.reward.points if isinstance(ref.reward, Reward) else None
            applied.effect = effects.apply(
                voucher,
                total=total,
                items=items,
                credits=credits if isinstance(credits, int) else None,
                points=points if isinstance(points, int) else None,
            )
            if total is not None:
                total -= applied.effect.discount + applied.effect.items_discount
        except Inapplicable as error:
            applied.error = error
        out.append(applied)
    return out


async def _campaign_active(
    conn: Conn, project_id: str, voucher: Row, seen: dict[str, bool]
) -> bool:
    """Whether the voucher's campaign (if any) is enabled; read once per request."""
    campaign_id = voucher["campaign_id"]
    if campaign_id is None:
        return True
    if campaign_id not in seen:
        try:
            row = await campaigns.get_row(conn, project_id=project_id, ref=campaign_id)
            seen[campaign_id] = bool(row["active"])
        except NotFound:
            seen[campaign_id] = True
    return seen[campaign_id]


def _error_wire(error: Inapplicable, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": 400 if error.key != "not_found" else 404, "key": error.key}
    body["message"], body["details"] = error.message, error.details
    if request_id:
        body["request_id"] = request_id
    body.update(resource_id=error.resource_id, resource_type="voucher")
    return body


def _redeemable_wire(applied: Applied, order: Raw | None, request_id: str | None) -> dict[str, Any]:
    voucher = applied.voucher
    base: dict[str, Any] = {"id": applied.ref.id, "object": "voucher"}
    if voucher is not None:
        base["metadata"] = (
            msgspec.json.decode(voucher["metadata"] or "{}")
            if isinstance(voucher["metadata"], str)
            else (voucher["metadata"] or {})
        )
        base["categories"] = []
        if voucher["campaign_id"] is not None:
            base["campaign_id"] = voucher["campaign_id"]
            base["campaign_name"] = voucher["campaign_name"]
    if applied.error is not None:
        error = _error_wire(applied.error, request_id)
        details = {"key": error["key"], "message": error["message"]}
        return {"status": "INAPPLICABLE", **base, "result": {"error": error, "details": details}}
    empty = {"data": [], "total": 0, "data_ref": "data", "object": "list"}
    assert applied.effect is not None
    wire = {"status": "APPLICABLE", **base, "result": applied.effect.result}
    if order is not None:
        wire["order"] = msgspec.json.decode(order)
    wire["applicable_to"], wire["inapplicable_to"] = empty, dict(empty)
    return wire


def _order_after(order: Mapping[str, Any], outcome: Sequence[Applied]) -> dict[str, Any]:
    discount = sum(a.effect.discount for a in outcome if a.effect is not None)
    items = sum(a.effect.items_discount for a in outcome if a.effect is not None)
    after = dict(order)
    after["discount_amount"] = int(order["discount_amount"]) + discount
    after["items_discount_amount"] = int(order["items_discount_amount"]) + items
    return after


def _applied_amounts(outcome: Sequence[Applied]) -> dict[str, int]:
    return {
        "discount": sum(a.effect.discount for a in outcome if a.effect is not None),
        "items": sum(a.effect.items_discount for a in outcome if a.effect is not None),
    }


async def validate(
    conn: Conn, *, project_id: str, body: StackableRequest, request_id: str | None
) -> Validation:
    """POST /v1/validations: reads only (no customer, order or event is written)."""
    check_refs(body.redeemables)
    customer = await _customer(
        conn, project_id=project_id, customer=body.customer, origin=Origin(), create=False
    )
    customer_id = None if customer is None else customer["id"]
    order_body = body.order if isinstance(body.order, OrderWrite) else None
    order = await orders.draft(
        conn, project_id=project_id, body=order_body, customer_id=customer_id
    )
    outcome = await _evaluate(
        conn,
        project_id=project_id,
        refs=body.redeemables,
        order=order,
        customer_id=customer_id,
        lock=False,
    )
    valid = all(a.error is None for a in outcome)
    order_wire = Raw(
        msgspec.json.encode(
            orders.to_wire(_order_after(order, outcome), applied=_applied_amounts(outcome))
        )
    )
    redeemables = [
        Raw(msgspec.json.encode(_redeemable_wire(a, order_wire, request_id))) for a in outcome
    ]
    inapplicable = [r for r, a in zip(redeemables, outcome, strict=True) if a.error is not None]
    validation = Validation(
        id=ids.validation_id(),
        valid=valid,
        redeemables=redeemables,
        skipped_redeemables=[],
        order=order_wire,
    )
    if inapplicable:
        validation.inapplicable_redeemables = inapplicable
    if isinstance(body.tracking_id, str):
        validation.tracking_id = body.tracking_id
    return validation


_UNSET_COLUMNS = {"failure_code": None, "failure_message": None, "reason": None}


def redemption_wire(row: Mapping[str, Any], *, app_id: str | None = None) -> dict[str, Any]:
    """A stored redemption or rollback as the wire object (Redemption / RedemptionRollback)."""
    row = {**_UNSET_COLUMNS, **{key: row[key] for key in row.keys()}}  # noqa: SIM118
    document = row["document"]
    document = msgspec.json.decode(document) if isinstance(document, str) else dict(document or {})
    metadata = row["metadata"]
    wire: dict[str, Any] = {
        "id": row["id"],
        "object": row["object"],
        "date": format_ms(row["created_at"]),
        "customer_id": row["customer_id"],
        "tracking_id": row["tracking_id"],
        "metadata": msgspec.json.decode(metadata) if isinstance(metadata, str) else metadata,
        "amount": int(row["amount"]),
        "redemption": row["parent_id"],
        "result": row["result"],
        "status": row["status"],
        "order": document.get("order"),
        "channel": document.get("channel") or {"channel_id": app_id, "channel_type": "API"},
        "customer": None
        if row["customer_id"] is None
        else {"id": row["customer_id"], "object": "customer"},
        "related_object_type": row["related_object_type"],
        "related_object_id": row["related_object_id"],
    }
    if row["failure_code"] is not None:
        wire["failure_code"] = row["failure_code"]
        wire["failure_message"] = row["failure_message"]
    if row["reason"] is not None:
        wire["reason"] = row["reason"]
    if document.get("voucher") is not None:
        wire["voucher"] = document["voucher"]
    if row["voucher_type"] == "GIFT_VOUCHER":
        wire["gift"] = {"amount": int(row["credits"])}
    if row["voucher_type"] == "LOYALTY_CARD":
        wire["loyalty_card"] = {"points": int(row["points"])}
    return wire


async def refresh_summary(conn: Conn, *, project_id: str, customer_id: str | None) -> None:
    """The customer's summary.redemptions counters, recomputed from the redemption table."""
    if customer_id is None:
        return

    async def patch() -> dict[str, Any]:
        t = await repository.totals_of(conn, project_id=project_id, customer_id=customer_id)
        return {
            "redemptions": {
                "total_redeemed": int(t["redeemed"]),
                "total_failed": int(t["failed"]),
                "total_succeeded": int(t["succeeded"]),
                "total_rolled_back": int(t["rolled_back"]),
                "total_rollback_failed": int(t["rollback_failed"]),
                "total_rollback_succeeded": int(t["rollback_succeeded"]),
                "gift": {"redeemed_amount": int(t["credits"])},
                "loyalty_card": {"redeemed_points": int(t["points"])},
            }
        }

    await customers.update_summary(
        conn, project_id=project_id, customer_id=customer_id, patch_of=patch
    )


def _metadata(body: Any) -> str:
    metadata = body.metadata if _given(body.metadata) else {}
    return _encode(metadata)


async def redeem(
    conn: Conn, *, project_id: str, body: StackableRequest, origin: Origin
) -> Redeemed:
    """POST /v1/redemptions. Raises RedemptionFailed (nothing applied) when any redeemable is
    inapplicable; the caller rolls back and calls `record_failures`."""
    check_refs(body.redeemables)
    customer = await _customer(
        conn, project_id=project_id, customer=body.customer, origin=origin, create=True
    )
    customer_id = None if customer is None else customer["id"]
    order_body = body.order if isinstance(body.order, OrderWrite) else None
    stored = await orders.stored_for_redemption(conn, project_id=project_id, body=order_body)
    order: Mapping[str, Any] = stored or await orders.draft(
        conn, project_id=project_id, body=order_body, customer_id=customer_id
    )
    outcome = await _evaluate(
        conn,
        project_id=project_id,
        refs=body.redeemables,
        order=order,
        customer_id=customer_id,
        lock=True,
    )
    failures = [a for a in outcome if a.error is not None]
    if failures:
        raise RedemptionFailed(
            failures[0].error,  # type: ignore[arg-type]
            [(a.ref.id, a.error) for a in failures if a.voucher is not None],  # type: ignore[misc]
        )
    child_ids = [ids.redemption_id() for _ in outcome]
    for applied, child_id in zip(outcome, child_ids, strict=True):
        assert applied.voucher is not None
        assert applied.effect is not None
        if not await balances.take(
            conn,
            project_id=project_id,
            voucher_id=applied.voucher["id"],
            credits=applied.effect.credits,
            points=applied.effect.points,
            redemption_id=child_id,
        ):  # a concurrent redemption took the last use first (the row lock prevents most)
            error = Inapplicable(
                "quantity_exceeded",
                "Quantity exceeded",
                f"{applied.ref.id} has no redemptions left",
                code=applied.ref.id,
            )
            raise RedemptionFailed(error, [(applied.ref.id, error)])
    now = now_ms()
    stacked = len(outcome) > 1
    parent_id = ids.redemption_id() if stacked else None
    entries = (
        msgspec.json.decode(order["redemptions"])
        if isinstance(order["redemptions"], str)
        else dict(order["redemptions"] or {})
    )
    entry_id = parent_id or child_ids[0]
    entries[entry_id] = {
        "date": format_ms(now),
        "related_object_type": "redemption" if stacked else "voucher",
        "related_object_id": entry_id if stacked else outcome[0].voucher["id"],  # type: ignore[index]
        **({"stacked": child_ids} if stacked else {}),
    }
    after = _order_after(order, outcome)
    if stored is not None:
        stored_order = await orders.set_discounts(
            conn,
            project_id=project_id,
            order_id=stored["id"],
            discount=after["discount_amount"],
            items_discount=after["items_discount_amount"],
            redemptions=entries,
            origin=origin,
        )
    else:  # a new order: written once, with what was applied
        stored_order = await orders.create_for_redemption(
            conn,
            project_id=project_id,
            body=order_body,
            customer_id=customer_id,
            origin=origin,
            discount=after["discount_amount"],
            items_discount=after["items_discount_amount"],
            redemptions=entries,
        )
    order_id = stored_order["id"]
    order_wire = as_dict(orders.to_wire(stored_order, applied=_applied_amounts(outcome)))
    channel = {"channel_id": origin.app_id, "channel_type": "API"}
    tracking_id = body.tracking_id if isinstance(body.tracking_id, str) else None
    metadata = _metadata(body)
    children = []
    for redemption_id, applied in zip(child_ids, outcome, strict=True):
        assert applied.voucher is not None
        assert applied.effect is not None
        voucher = await balances.find(conn, project_id=project_id, ref=applied.voucher["id"])
        effect = applied.effect
        row = {
            "id": redemption_id,
            "object": "redemption",
            "parent_id": parent_id,
            "related_object_type": "voucher",
            "related_object_id": applied.voucher["id"],
            "voucher_code": applied.voucher["code"],
            "voucher_type": applied.voucher["type"],
            "campaign_id": applied.voucher["campaign_id"],
            "customer_id": customer_id,
            "order_id": order_id,
            "tracking_id": tracking_id,
            "amount": effect.discount + effect.items_discount
            if applied.voucher["type"] != "LOYALTY_CARD"
            else effect.points,
            "credits": effect.credits,
            "points": effect.points,
            "result": "SUCCESS",
            "status": "SUCCEEDED",
            "metadata": metadata,
            "document": _encode(
                {
                    "order": order_wire,
                    "channel": channel,
                    "voucher": as_dict(voucher_to_wire(voucher or applied.voucher)),
                }
            ),
            "created_at": now,
        }
        await repository.insert(conn, project_id=project_id, values=row)
        children.append(row)
    parent = None
    if stacked:
        parent = {
            "id": parent_id,
            "object": "redemption",
            "parent_id": None,
            "related_object_type": "redemption",
            "related_object_id": parent_id,
            "voucher_code": None,
            "voucher_type": None,
            "campaign_id": None,
            "customer_id": customer_id,
            "order_id": order_id,
            "tracking_id": tracking_id,
            "amount": sum(int(c["amount"]) for c in children),
            "credits": 0,
            "points": 0,
            "result": "SUCCESS",
            "status": "SUCCEEDED",
            "metadata": metadata,
            "document": _encode({"order": order_wire, "channel": channel}),
            "created_at": now,
        }
        await repository.insert(conn, project_id=project_id, values=parent)
    wires = [redemption_wire(c) for c in children]
    if customer_id is not None:
        for wire, applied in zip(wires, outcome, strict=True):
            assert applied.voucher is not None
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=[customer_id],
                type_="customer.redemption.succeeded",
                origin=origin,
                extra={"redemption": wire, "voucher": wire.get("voucher")},
                campaign=(applied.voucher["campaign_id"], applied.voucher["campaign_type"]),
            )
    await refresh_summary(conn, project_id=project_id, customer_id=customer_id)
    result = Redeemed(
        redemptions=[Raw(msgspec.json.encode(w)) for w in wires],
        order=Raw(msgspec.json.encode(order_wire)),
    )
    if parent is not None:
        result.parent_redemption = Raw(msgspec.json.encode(redemption_wire(parent)))
    return result


async def record_failures(
    conn: Conn,
    *,
    project_id: str,
    customer: Any,
    failed: RedemptionFailed,
    origin: Origin,
    metadata: Any = UNSET,
    tracking_id: Any = UNSET,
) -> None:
    """After a refused redemption was rolled back: one FAILURE redemption per existing voucher,
    customer.redemption.failed, and the customer's summary."""
    if not failed.failures:
        return
    row = await _customer(
        conn, project_id=project_id, customer=customer, origin=origin, create=True
    )
    customer_id = None if row is None else row["id"]
    now = now_ms()
    channel = {"channel_id": origin.app_id, "channel_type": "API"}
    for code, error in failed.failures:
        voucher = await balances.find(conn, project_id=project_id, ref=code)
        if voucher is None:
            continue
        values = {
            "id": ids.redemption_id(),
            "object": "redemption",
            "parent_id": None,
            "related_object_type": "voucher",
            "related_object_id": voucher["id"],
            "voucher_code": voucher["code"],
            "voucher_type": voucher["type"],
            "campaign_id": voucher["campaign_id"],
            "customer_id": customer_id,
            "order_id": None,
            "tracking_id": tracking_id if isinstance(tracking_id, str) else None,
            "amount": 0,
            "credits": 0,
            "points": 0,
            "result": "FAILURE",
            "status": "FAILED",
            "failure_code": error.key,
            "failure_message": error.message,
            "metadata": _encode(metadata if _given(metadata) else {}),
            "document": _encode({"channel": channel, "voucher": as_dict(voucher_to_wire(voucher))}),
            "created_at": now,
        }
        await repository.insert(conn, project_id=project_id, values=values)
        if customer_id is not None:
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=[customer_id],
                type_="customer.redemption.failed",
                origin=origin,
                extra={"redemption": redemption_wire(values)},
                campaign=(voucher["campaign_id"], voucher["campaign_type"]),
            )
    await refresh_summary(conn, project_id=project_id, customer_id=customer_id)


async def get(db: Database | Conn, *, project_id: str, redemption_id: str) -> dict[str, Any]:
    row = await repository.get(db, project_id=project_id, redemption_id=redemption_id)
    if row is None:
        raise NotFound("redemption", redemption_id)
    return redemption_wire(row)
