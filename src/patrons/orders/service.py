"""Order use cases: create (an upsert by source_id), get, update, list, and the customer's
`summary.orders`, recomputed in the writer's transaction. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET

from patrons.activities import service as activities
from patrons.core import ids, pagination
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, InvalidQueryParams, NotFound
from patrons.core.jsonraw import raw_json
from patrons.core.origin import Origin
from patrons.customers import named
from patrons.customers import service as customers
from patrons.db.database import Conn, Database, Row
from patrons.orders import repository
from patrons.orders.schemas import (
    COUNTED,
    MAX_ITEMS,
    ObjectRef,
    Order,
    OrderList,
    OrderWrite,
)

STATUS_EVENTS = {
    "PAID": "customer.order.paid",
    "CANCELED": "customer.order.canceled",
    "FULFILLED": "customer.order.fulfilled",
}
ORDERINGS = ("created_at", "-created_at", "updated_at", "-updated_at")
MAX_PAGE = 100  # ParameterPage


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def to_wire(row: Mapping[str, Any], *, applied: Mapping[str, int] | None = None) -> Order:
    amount = row["amount"]
    discount, items_discount = int(row["discount_amount"]), int(row["items_discount_amount"])
    total_discount = discount + items_discount
    order = Order(
        id=UNSET if row["id"] is None else row["id"],
        source_id=row["source_id"],
        created_at=UNSET if row["created_at"] is None else format_ms(row["created_at"]),
        updated_at=None if row["updated_at"] is None else format_ms(row["updated_at"]),
        status=row["status"],
        metadata=raw_json(row["metadata"]) or msgspec.Raw(b"{}"),
        customer_id=row["customer_id"],
        referrer_id=row["referrer_id"],
    )
    if amount is not None:
        order.amount = int(amount)
        order.total_amount = int(amount) - total_discount
        if total_discount:
            order.initial_amount = int(amount)
    if discount:
        order.discount_amount = discount
    if items_discount:
        order.items_discount_amount = items_discount
    if total_discount:
        order.total_discount_amount = total_discount
    if applied is not None:
        order.applied_discount_amount = applied.get("discount", 0)
        order.items_applied_discount_amount = applied.get("items", 0)
        order.total_applied_discount_amount = applied.get("discount", 0) + applied.get("items", 0)
    items = raw_json(row["items"])
    if items is not None:
        order.items = items
    redemptions = raw_json(row["redemptions"])
    if redemptions is not None:
        order.redemptions = redemptions
    if row["customer_id"] is not None:
        order.customer = ObjectRef(row["customer_id"])
    if row["referrer_id"] is not None:
        order.referrer = ObjectRef(row["referrer_id"])
    return order


def _items(body: OrderWrite) -> tuple[list[dict[str, Any]] | None, int | None]:
    """The stored items (numbers checked, each line's amount filled from price x quantity)
    and their summed amount (None when no line carries one)."""
    if body.items in (UNSET, None):
        return None, None
    if len(body.items) > MAX_ITEMS:
        raise InvalidPayload(f"Property .items must NOT have more than {MAX_ITEMS} items")
    out, total, any_amount = [], 0, False
    for index, item in enumerate(body.items):
        line = {k: v for k, v in msgspec.to_builtins(item).items() if v is not None}
        for name in ("quantity", "amount", "price", "discount_quantity", "discount_amount"):
            value = line.get(name)
            if isinstance(value, int | float) and value < 0:
                raise InvalidPayload(f"Property .items[{index}].{name} must be >= 0")
        if "amount" not in line and "price" in line and "quantity" in line:
            line["amount"] = round(line["price"] * line["quantity"])
        if "amount" in line:
            total += int(line["amount"])
            any_amount = True
            line["subtotal_amount"] = int(line["amount"])
        line["object"] = "order_item"
        out.append(line)
    return out, (total if any_amount else None)


def _given(value: Any) -> bool:
    return value is not UNSET and value is not None


async def _party(
    conn: Conn, *, project_id: str, inline: Any, ref: Any, origin: Origin
) -> str | Any | None:
    """The customer (or referrer) id an order body names: UNSET when it names none."""
    if _given(inline):
        row = await named.resolve_named(conn, project_id=project_id, customer=inline, origin=origin)
        if row is not None:
            return row["id"]
    if _given(ref):
        return (await customers.get_or_raise(conn, project_id=project_id, ref=ref))["id"]
    return UNSET


async def _changes(
    conn: Conn, *, project_id: str, body: OrderWrite, origin: Origin
) -> dict[str, Any]:
    """Columns the body sets (given fields only), checked before anything is written."""
    changes: dict[str, Any] = {}
    items, items_total = _items(body)
    if items is not None:
        changes["items"] = _json(items)
    if _given(body.amount):
        assert isinstance(body.amount, int)
        if body.amount < 0:
            raise InvalidPayload("Property .amount must be >= 0")
        changes["amount"] = body.amount
    elif items_total is not None:
        changes["amount"] = items_total
    if _given(body.status):
        changes["status"] = body.status
    if body.metadata is not UNSET:
        changes["metadata"] = _json(body.metadata or {})
    customer_id = await _party(
        conn, project_id=project_id, inline=body.customer, ref=body.customer_id, origin=origin
    )
    if customer_id is not UNSET:
        changes["customer_id"] = customer_id
    referrer_id = await _party(
        conn, project_id=project_id, inline=body.referrer, ref=body.referrer_id, origin=origin
    )
    if referrer_id is not UNSET:
        changes["referrer_id"] = referrer_id
    return changes


async def get_row(db: Database | Conn, *, project_id: str, ref: str) -> Row:
    row = await repository.get(db, project_id=project_id, ref=ref)
    if row is None:
        raise NotFound("order", ref)
    return row


async def get(db: Database | Conn, *, project_id: str, ref: str) -> Order:
    return to_wire(await get_row(db, project_id=project_id, ref=ref))


async def create(conn: Conn, *, project_id: str, body: OrderWrite, origin: Origin) -> Order:
    """POST /v1/orders: a new order, or the order of that source_id updated."""
    return to_wire(await upsert_row(conn, project_id=project_id, body=body, origin=origin))


async def upsert_row(
    conn: Conn,
    *,
    project_id: str,
    body: OrderWrite,
    origin: Origin,
    extra: Mapping[str, Any] | None = None,
) -> Row:
    """`extra`: columns set beside the body's (what a redemption applied to a new order)."""
    source_id = body.source_id if isinstance(body.source_id, str) else None
    if isinstance(body.id, str) and body.id:
        return await _update_row(conn, project_id=project_id, ref=body.id, body=body, origin=origin)
    if source_id is not None:
        existing = await repository.get(conn, project_id=project_id, ref=source_id, lock=True)
        if existing is not None and existing["source_id"] == source_id:
            return await _apply(
                conn, project_id=project_id, row=existing, body=body, origin=origin, extra=extra
            )
    changes = await _changes(conn, project_id=project_id, body=body, origin=origin)
    values = {
        "id": ids.order_id(),
        "source_id": source_id,
        "status": "CREATED",
        "metadata": "{}",
        **changes,
        **(extra or {}),
        "created_at": now_ms(),
    }
    row = await repository.insert(conn, project_id=project_id, values=values)
    if row is None:  # the same source_id created by a concurrent request: update that one
        existing = await repository.get(conn, project_id=project_id, ref=str(source_id), lock=True)
        if existing is None:
            raise NotFound("order", str(source_id))
        return await _apply(
            conn, project_id=project_id, row=existing, body=body, origin=origin, extra=extra
        )
    await _recorded(conn, project_id=project_id, before=None, after=row, origin=origin)
    return row


async def update(
    conn: Conn, *, project_id: str, ref: str, body: OrderWrite, origin: Origin
) -> Order:
    """PUT /v1/orders/{orderId}."""
    return to_wire(
        await _update_row(conn, project_id=project_id, ref=ref, body=body, origin=origin)
    )


async def _update_row(
    conn: Conn, *, project_id: str, ref: str, body: OrderWrite, origin: Origin
) -> Row:
    row = await repository.get(conn, project_id=project_id, ref=ref, lock=True)
    if row is None:
        raise NotFound("order", ref)
    return await _apply(conn, project_id=project_id, row=row, body=body, origin=origin)


async def _apply(
    conn: Conn,
    *,
    project_id: str,
    row: Row,
    body: OrderWrite,
    origin: Origin,
    extra: Mapping[str, Any] | None = None,
) -> Row:
    changes = await _changes(conn, project_id=project_id, body=body, origin=origin)
    changes.update(extra or {})
    if not changes:
        return row
    changes["updated_at"] = now_ms()
    after = await repository.update(
        conn, project_id=project_id, order_id=row["id"], changes=changes
    )
    await _recorded(conn, project_id=project_id, before=row, after=after, origin=origin)
    return after


async def _stored(conn: Conn, *, project_id: str, body: OrderWrite, lock: bool) -> Row | None:
    """The stored order a validation or redemption names by `id` (must exist) or by a known
    `source_id`; None for a new order."""
    if isinstance(body.id, str) and body.id:
        row = await repository.get(conn, project_id=project_id, ref=body.id, lock=lock)
        if row is None or row["id"] != body.id:
            raise NotFound("order", body.id)
        return row
    if isinstance(body.source_id, str) and body.source_id:
        row = await repository.get(conn, project_id=project_id, ref=body.source_id, lock=lock)
        if row is not None and row["source_id"] == body.source_id:
            return row
    return None


async def draft(
    conn: Conn, *, project_id: str, body: OrderWrite | None, customer_id: str | None
) -> dict[str, Any]:
    """The order a validation computes on, as a row: the stored one it names (its data wins,
    as the spec says), else the body's, unsaved (`id` None)."""
    if body is not None:
        stored = await _stored(conn, project_id=project_id, body=body, lock=False)
        if stored is not None:
            return dict(zip(stored.keys(), stored, strict=True))
    body = body or OrderWrite()
    items, items_total = _items(body)
    amount = body.amount if isinstance(body.amount, int) else items_total
    if amount is not None and amount < 0:
        raise InvalidPayload("Property .order.amount must be >= 0")
    return {
        "id": None,
        "source_id": body.source_id if isinstance(body.source_id, str) else None,
        "status": body.status if isinstance(body.status, str) else "CREATED",
        "amount": amount,
        "discount_amount": 0,
        "items_discount_amount": 0,
        "items": None if items is None else _json(items),
        "metadata": _json(body.metadata or {}) if body.metadata is not UNSET else "{}",
        "customer_id": customer_id,
        "referrer_id": None,
        "redemptions": None,
        "created_at": None,
        "updated_at": None,
    }


async def stored_for_redemption(
    conn: Conn, *, project_id: str, body: OrderWrite | None
) -> Row | None:
    """The stored order a redemption names (by id, or a known source_id), locked; None when
    the redemption brings a new order (see `create_for_redemption`)."""
    if body is None:
        return None
    return await _stored(conn, project_id=project_id, body=body, lock=True)


async def create_for_redemption(
    conn: Conn,
    *,
    project_id: str,
    body: OrderWrite | None,
    customer_id: str | None,
    origin: Origin,
    discount: int,
    items_discount: int,
    redemptions: Mapping[str, Any],
) -> Row:
    """A redemption's new order, written once with what the redemption applied: for the
    customer, PAID unless the body says otherwise (as Voucherify stores it)."""
    body = body or OrderWrite()
    fields: dict[str, Any] = {}
    if not isinstance(body.status, str):
        fields["status"] = "PAID"
    if customer_id is not None and not _given(body.customer) and not _given(body.customer_id):
        fields["customer_id"] = customer_id
    if fields:
        body = msgspec.structs.replace(body, **fields)
    extra = {
        "discount_amount": discount,
        "items_discount_amount": items_discount,
        "redemptions": _json(redemptions),
    }
    return await upsert_row(conn, project_id=project_id, body=body, origin=origin, extra=extra)


async def set_discounts(
    conn: Conn,
    *,
    project_id: str,
    order_id: str,
    discount: int,
    items_discount: int,
    redemptions: Mapping[str, Any] | None,
    status: str | None = None,
    origin: Origin,
) -> Row:
    """What redemptions applied to the order (their running totals) and its redemptions map,
    stored by the redemptions package in its transaction; the buyer's summary follows."""
    before = await repository.get(conn, project_id=project_id, ref=order_id, lock=True)
    if before is None:
        raise NotFound("order", order_id)
    changes: dict[str, Any] = {
        "discount_amount": discount,
        "items_discount_amount": items_discount,
        "redemptions": None if not redemptions else _json(redemptions),
        "updated_at": now_ms(),
    }
    if status is not None:
        changes["status"] = status
    after = await repository.update(conn, project_id=project_id, order_id=order_id, changes=changes)
    await _recorded(conn, project_id=project_id, before=before, after=after, origin=origin)
    return after


async def _recorded(
    conn: Conn, *, project_id: str, before: Row | None, after: Row, origin: Origin
) -> None:
    """The order's events on its customer and the summaries of the customers it moved."""
    customer_id = after["customer_id"]
    if customer_id is not None:
        types = ["customer.order.created" if before is None else "customer.order.updated"]
        status = after["status"]
        if status in STATUS_EVENTS and (before is None or before["status"] != status):
            types.append(STATUS_EVENTS[status])
        extra = {"order": msgspec.json.decode(msgspec.json.encode(to_wire(after)))}
        for type_ in types:
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=[customer_id],
                type_=type_,
                origin=origin,
                extra=extra,
            )
    moved = {customer_id}
    if before is not None:
        moved.add(before["customer_id"])
    await refresh_summaries(conn, project_id=project_id, customer_ids=moved)


async def refresh_summaries(
    conn: Conn, *, project_id: str, customer_ids: Iterable[str | None]
) -> None:
    """Recompute each customer's `summary.orders` from its PAID/FULFILLED orders."""
    for customer_id in sorted({c for c in customer_ids if c is not None}):

        async def patch(customer_id: str = customer_id) -> dict[str, Any]:
            totals = await repository.totals_of(
                conn, project_id=project_id, customer_id=customer_id, statuses=COUNTED
            )
            count, total = int(totals["n"]), int(totals["total"])
            orders: dict[str, Any] = {
                "total_amount": total,
                "total_count": count,
                "average_amount": total // count if count else 0,
                "last_order_amount": int(totals["last_amount"] or 0),
            }
            if totals["last_at"] is not None:
                orders["last_order_date"] = format_ms(int(totals["last_at"]))
            return {"orders": orders}

        await customers.update_summary(
            conn, project_id=project_id, customer_id=customer_id, patch_of=patch
        )


async def list_(db: Database, *, project_id: str, params: Mapping[str, str]) -> OrderList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=MAX_PAGE)
    ordering = params.get("order") or "created_at"  # oldest first, as the spec says
    if ordering not in ORDERINGS:
        raise InvalidQueryParams(f"Property .order must be one of {', '.join(ORDERINGS)}")
    rows = await repository.page(
        db,
        project_id=project_id,
        order_by=ordering.lstrip("-"),
        descending=ordering.startswith("-"),
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await repository.count(db, project_id=project_id)
    return OrderList(orders=[to_wire(r) for r in rows], total=total)


async def of_customer(
    db: Database | Conn, *, project_id: str, customer_id: str, limit: int
) -> OrderList:
    """The customer's orders, newest first (at most `limit`), and how many it has in all."""
    rows = await repository.page(
        db,
        project_id=project_id,
        order_by="created_at",
        descending=True,
        limit=limit,
        offset=0,
        customer_id=customer_id,
    )
    total = await repository.count(db, project_id=project_id, customer_id=customer_id)
    return OrderList(orders=[to_wire(r) for r in rows], total=total)
