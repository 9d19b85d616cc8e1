"""Rollbacks: a succeeded redemption undone — the voucher's use, gift credits and loyalty
points return, the order's discount is taken off, the customer's summary counts the rollback.
One transaction; a redemption that cannot be rolled back (failed, already rolled back) is
recorded as a FAILURE rollback (total_rollback_failed) and answered with a 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import Raw

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import NotFound, PatronsError
from patrons.core.origin import Origin
from patrons.db.database import Conn, Row
from patrons.orders import service as orders
from patrons.redeemables import balances
from patrons.redeemables.wire import as_dict, voucher_to_wire
from patrons.redemptions import repository
from patrons.redemptions.schemas import RollbackRequest, Rollbacks
from patrons.redemptions.service import redemption_wire, refresh_summary


class RollbackRefused(PatronsError):
    status = 400
    key = "already_rolled_back"
    message = "Redemption cannot be rolled back"


def _decode(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str) else value


async def _undo_order(
    conn: Conn, *, project_id: str, redemption: Row, rollback_id: str, now: int, origin: Origin
) -> dict[str, Any] | None:
    """The order with the redemption's discount taken off and its entry marked; its wire."""
    if redemption["order_id"] is None:
        return None
    order = await orders.get_row(conn, project_id=project_id, ref=redemption["order_id"])
    off = 0 if redemption["voucher_type"] == "LOYALTY_CARD" else int(redemption["amount"])
    discount = min(off, int(order["discount_amount"]))
    items_discount = max(0, int(order["items_discount_amount"]) - (off - discount))
    entries = _decode(order["redemptions"]) or {}
    key = redemption["parent_id"] or redemption["id"]
    if key in entries:
        entry = entries[key]
        if redemption["parent_id"] is None:
            entry.update(rollback_id=rollback_id, rollback_date=format_ms(now))
        else:
            entry.setdefault("rollback_stacked", []).append(rollback_id)
    stored = await orders.set_discounts(
        conn,
        project_id=project_id,
        order_id=order["id"],
        discount=int(order["discount_amount"]) - discount,
        items_discount=items_discount,
        redemptions=entries,
        origin=origin,
    )
    return as_dict(orders.to_wire(stored))


async def _one(
    conn: Conn,
    *,
    project_id: str,
    redemption: Row,
    body: RollbackRequest,
    reason: str | None,
    origin: Origin,
) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """Roll one voucher redemption back: (rollback wire, order wire, succeeded)."""
    rollback_id, now = ids.rollback_id(), now_ms()
    succeeded = redemption["status"] == "SUCCEEDED" and await repository.mark_rolled_back(
        conn, project_id=project_id, redemption_id=redemption["id"], rollback_id=rollback_id
    )
    order_wire = None
    if succeeded:
        await balances.give_back(
            conn,
            project_id=project_id,
            voucher_id=redemption["related_object_id"],
            credits=int(redemption["credits"]),
            points=int(redemption["points"]),
            redemption_id=redemption["id"],
            rollback_id=rollback_id,
        )
        order_wire = await _undo_order(
            conn,
            project_id=project_id,
            redemption=redemption,
            rollback_id=rollback_id,
            now=now,
            origin=origin,
        )
    document = _decode(redemption["document"]) or {}
    voucher = await balances.find(conn, project_id=project_id, ref=redemption["related_object_id"])
    metadata = body.metadata if isinstance(body.metadata, dict) else {}
    values = {
        "id": rollback_id,
        "object": "redemption_rollback",
        "parent_id": redemption["id"],
        "related_object_type": "voucher",
        "related_object_id": redemption["related_object_id"],
        "voucher_code": redemption["voucher_code"],
        "voucher_type": redemption["voucher_type"],
        "campaign_id": redemption["campaign_id"],
        "customer_id": redemption["customer_id"],
        "order_id": redemption["order_id"],
        "tracking_id": redemption["tracking_id"],
        "amount": -int(redemption["amount"]) if succeeded else 0,
        "credits": int(redemption["credits"]) if succeeded else 0,
        "points": int(redemption["points"]) if succeeded else 0,
        "result": "SUCCESS" if succeeded else "FAILURE",
        "status": "SUCCEEDED" if succeeded else "FAILED",
        "failure_code": None if succeeded else RollbackRefused.key,
        "failure_message": None if succeeded else RollbackRefused.message,
        "reason": reason,
        "metadata": msgspec.json.encode(metadata).decode(),
        "document": msgspec.json.encode(
            {
                "order": order_wire if order_wire is not None else document.get("order"),
                "channel": {"channel_id": origin.app_id, "channel_type": "API"},
                "voucher": None if voucher is None else as_dict(voucher_to_wire(voucher)),
            }
        ).decode(),
        "created_at": now,
    }
    await repository.insert(conn, project_id=project_id, values=values)
    wire = redemption_wire(values)
    if redemption["customer_id"] is not None:
        await activities.record(
            conn,
            project_id=project_id,
            customer_ids=[redemption["customer_id"]],
            type_="customer.redemption.rollback." + ("succeeded" if succeeded else "failed"),
            origin=origin,
            extra={"redemption_rollback": wire},
            campaign=(redemption["campaign_id"], None),
        )
    await refresh_summary(conn, project_id=project_id, customer_id=redemption["customer_id"])
    return wire, order_wire, succeeded


async def rollback(
    conn: Conn,
    *,
    project_id: str,
    redemption_id: str,
    body: RollbackRequest,
    reason: str | None,
    origin: Origin,
) -> tuple[Raw, PatronsError | None]:
    """POST /v1/redemptions/{id}/rollback: the rollback and, when it failed, the error to
    answer after the commit (the failed rollback is kept)."""
    redemption = await repository.lock(conn, project_id=project_id, redemption_id=redemption_id)
    if redemption is None or redemption["object"] != "redemption":
        raise NotFound("redemption", redemption_id)
    if redemption["related_object_type"] == "redemption":  # a stack: all of its children
        result = await rollback_stack(
            conn,
            project_id=project_id,
            redemption_id=redemption_id,
            body=body,
            reason=reason,
            origin=origin,
        )
        return result[0].parent_rollback or result[0].rollbacks[0], result[1]
    wire, _, succeeded = await _one(
        conn,
        project_id=project_id,
        redemption=redemption,
        body=body,
        reason=reason,
        origin=origin,
    )
    error = (
        None
        if succeeded
        else RollbackRefused(
            f"Redemption {redemption_id} is {redemption['status']}",
            resource_id=redemption_id,
            resource_type="redemption",
        )
    )
    return Raw(msgspec.json.encode(wire)), error


async def rollback_stack(
    conn: Conn,
    *,
    project_id: str,
    redemption_id: str,
    body: RollbackRequest,
    reason: str | None,
    origin: Origin,
) -> tuple[Rollbacks, PatronsError | None]:
    """POST /v1/redemptions/{parentRedemptionId}/rollbacks: every child rolled back."""
    parent = await repository.lock(conn, project_id=project_id, redemption_id=redemption_id)
    if parent is None or parent["object"] != "redemption":
        raise NotFound("redemption", redemption_id)
    if parent["related_object_type"] != "redemption":  # a single redemption
        wire, order, succeeded = await _one(
            conn,
            project_id=project_id,
            redemption=parent,
            body=body,
            reason=reason,
            origin=origin,
        )
        result = Rollbacks(rollbacks=[Raw(msgspec.json.encode(wire))])
        if order is not None:
            result.order = Raw(msgspec.json.encode(order))
        return result, None if succeeded else RollbackRefused(resource_id=redemption_id)
    children = await repository.children(
        conn, project_id=project_id, parent_id=redemption_id, object_="redemption"
    )
    wires, order_wire, all_ok = [], None, True
    for child in children:
        locked = await repository.lock(conn, project_id=project_id, redemption_id=child["id"])
        assert locked is not None
        wire, order, succeeded = await _one(
            conn,
            project_id=project_id,
            redemption=locked,
            body=body,
            reason=reason,
            origin=origin,
        )
        wires.append(wire)
        order_wire = order or order_wire
        all_ok = all_ok and succeeded
    parent_rollback_id, now = ids.rollback_id(), now_ms()
    rolled = all_ok and await repository.mark_rolled_back(
        conn, project_id=project_id, redemption_id=redemption_id, rollback_id=parent_rollback_id
    )
    values: Mapping[str, Any] = {
        "id": parent_rollback_id,
        "object": "redemption_rollback",
        "parent_id": redemption_id,
        "related_object_type": "redemption",
        "related_object_id": redemption_id,
        "voucher_code": None,
        "voucher_type": None,
        "campaign_id": None,
        "customer_id": parent["customer_id"],
        "order_id": parent["order_id"],
        "tracking_id": parent["tracking_id"],
        "amount": -int(parent["amount"]) if rolled else 0,
        "credits": 0,
        "points": 0,
        "result": "SUCCESS" if rolled else "FAILURE",
        "status": "SUCCEEDED" if rolled else "FAILED",
        "failure_code": None if rolled else RollbackRefused.key,
        "failure_message": None if rolled else RollbackRefused.message,
        "reason": reason,
        "metadata": msgspec.json.encode(
            body.metadata if isinstance(body.metadata, dict) else {}
        ).decode(),
        "document": msgspec.json.encode(
            {"order": order_wire, "channel": {"channel_id": origin.app_id, "channel_type": "API"}}
        ).decode(),
        "created_at": now,
    }
    await repository.insert(conn, project_id=project_id, values=dict(values))
    result = Rollbacks(
        rollbacks=[Raw(msgspec.json.encode(w)) for w in wires],
        parent_rollback=Raw(msgspec.json.encode(redemption_wire(values))),
    )
    if order_wire is not None:
        result.order = Raw(msgspec.json.encode(order_wire))
    error = None if rolled else RollbackRefused(resource_id=redemption_id)
    return result, error
