"""SQL for orders. Every function takes `project_id` first; no query runs without it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of

COLUMNS = (
    "id, source_id, status, amount, discount_amount, items_discount_amount, items, metadata,"
    " customer_id, referrer_id, redemptions, created_at, updated_at"
)


async def insert(conn: Conn, *, project_id: str, values: dict[str, Any]) -> Row | None:
    """The new order, or None when the project has an order with that source_id already."""
    names = list(values)
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 2))
    return await conn.fetchrow(
        f"INSERT INTO orders (project_id, {', '.join(names)}) VALUES ({marks})"
        f" ON CONFLICT (project_id, source_id) DO NOTHING RETURNING {COLUMNS}",
        project_id,
        *values.values(),
    )


async def get(db: DB, *, project_id: str, ref: str, lock: bool = False) -> Row | None:
    """By `ord_` id, or failing that by source_id; `lock` takes the row lock (PostgreSQL)."""
    suffix = dialect.for_update_sql(kind_of(db)) if lock else ""
    if ref.startswith("ord_"):
        row = await db.fetchrow(
            f"SELECT {COLUMNS} FROM orders WHERE project_id = $1 AND id = $2{suffix}",
            project_id,
            ref,
        )
        if row is not None:
            return row
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM orders WHERE project_id = $1 AND source_id = $2{suffix}",
        project_id,
        ref,
    )


async def update(conn: Conn, *, project_id: str, order_id: str, changes: dict[str, Any]) -> Row:
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    return await conn.fetchrow(
        f"UPDATE orders SET {sets} WHERE project_id = $1 AND id = $2 RETURNING {COLUMNS}",
        project_id,
        order_id,
        *changes.values(),
    )


async def page(
    db: DB,
    *,
    project_id: str,
    order_by: str,
    descending: bool,
    limit: int,
    offset: int,
    customer_id: str | None = None,
) -> list[Row]:
    """`customer_id`: that customer's orders only."""
    column = "updated_at" if order_by == "updated_at" else "created_at"
    direction = "DESC" if descending else "ASC"
    of_customer = "" if customer_id is None else " AND customer_id = $2"
    return await db.fetch(
        f"SELECT {COLUMNS} FROM orders WHERE project_id = $1{of_customer}"
        f" ORDER BY {column} {direction}, id {direction} LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        *(() if customer_id is None else (customer_id,)),
    )


async def count(db: DB, *, project_id: str, customer_id: str | None = None) -> int:
    if customer_id is None:
        return await db.fetchval("SELECT COUNT(*) FROM orders WHERE project_id = $1", project_id)
    return await db.fetchval(
        "SELECT COUNT(*) FROM orders WHERE project_id = $1 AND customer_id = $2",
        project_id,
        customer_id,
    )


async def totals_of(db: DB, *, project_id: str, customer_id: str, statuses: Sequence[str]) -> Row:
    """The customer's counted orders: their number, the sum of what was paid (amount less
    discounts) and the newest one's amount and time."""
    marks = ", ".join(f"${i}" for i in range(3, len(statuses) + 3))
    where = f"project_id = $1 AND customer_id = $2 AND status IN ({marks})"
    paid = "COALESCE(amount, 0) - discount_amount - items_discount_amount"
    return await db.fetchrow(
        f"SELECT COUNT(*) AS n, COALESCE(SUM({paid}), 0) AS total,"
        f" (SELECT {paid} FROM orders WHERE {where} ORDER BY created_at DESC, id DESC LIMIT 1)"
        " AS last_amount,"
        f" (SELECT MAX(created_at) FROM orders WHERE {where}) AS last_at"
        f" FROM orders WHERE {where}",
        project_id,
        customer_id,
        *statuses,
    )


async def anonymise(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """Unlink the customers from their orders (kept as financial records); how many changed."""
    marks = ", ".join(f"${i}" for i in range(2, len(customer_ids) + 2))
    rows = await conn.fetch(
        "UPDATE orders SET"
        f" customer_id = CASE WHEN customer_id IN ({marks}) THEN NULL ELSE customer_id END,"
        f" referrer_id = CASE WHEN referrer_id IN ({marks}) THEN NULL ELSE referrer_id END"
        f" WHERE project_id = $1 AND (customer_id IN ({marks}) OR referrer_id IN ({marks}))"
        " RETURNING id",
        project_id,
        *customer_ids,
    )
    return len(rows)
