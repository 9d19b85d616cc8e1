"""SQL for redemptions and rollbacks. Every function takes `project_id` first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of

COLUMNS = (
    "id, object, parent_id, related_object_type, related_object_id, voucher_code,"
    " voucher_type, campaign_id, customer_id, order_id, tracking_id, amount, credits, points,"
    " result, status, failure_code, failure_message, reason, rollback_id, metadata, document,"
    " created_at"
)


async def insert(conn: Conn, *, project_id: str, values: dict[str, Any]) -> None:
    names = list(values)
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 2))
    await conn.execute(
        f"INSERT INTO redemption (project_id, {', '.join(names)}) VALUES ({marks})",
        project_id,
        *values.values(),
    )


async def get(db: DB, *, project_id: str, redemption_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM redemption WHERE project_id = $1 AND id = $2",
        project_id,
        redemption_id,
    )


async def children(db: DB, *, project_id: str, parent_id: str, object_: str) -> list[Row]:
    return await db.fetch(
        f"SELECT {COLUMNS} FROM redemption WHERE project_id = $1 AND parent_id = $2"
        " AND object = $3 ORDER BY created_at, id",
        project_id,
        parent_id,
        object_,
    )


async def mark_rolled_back(
    conn: Conn, *, project_id: str, redemption_id: str, rollback_id: str
) -> bool:
    """SUCCEEDED → ROLLED_BACK, once: False when it was not (still) a succeeded redemption."""
    done = await conn.fetchval(
        "UPDATE redemption SET status = 'ROLLED_BACK', rollback_id = $3"
        " WHERE project_id = $1 AND id = $2 AND status = 'SUCCEEDED' RETURNING id",
        project_id,
        redemption_id,
        rollback_id,
    )
    return done is not None


# Columns the list filters may name (the spec's ParameterFiltersListRedemptions fields).
FILTER_COLUMNS = {
    "voucher_code": "voucher_code",
    "related_object_id": "related_object_id",
    "related_object_parent_id": "campaign_id",
    "parent_redemption_id": "parent_id",
    "failure_code": "failure_code",
    "result": "result",
    "object": "object",
    "customer_id": "customer_id",
}


def _where(
    conditions: Sequence[tuple[str, str, Sequence[str]]], created: tuple[int | None, int | None]
) -> tuple[str, list[Any]]:
    """`conditions`: (filter field, operator is|is_not|in|not_in, values), AND-ed."""
    parts: list[str] = ["1 = 1"]
    args: list[Any] = []
    for field, operator, values in conditions:
        column = FILTER_COLUMNS[field]
        marks = []
        for value in values:
            args.append(value)
            marks.append(f"${len(args) + 1}")
        if operator in ("is", "in"):
            parts.append(f"{column} IN ({', '.join(marks)})")
        else:
            parts.append(f"({column} IS NULL OR {column} NOT IN ({', '.join(marks)}))")
    before, after = created
    if before is not None:
        args.append(before)
        parts.append(f"created_at < ${len(args) + 1}")
    if after is not None:
        args.append(after)
        parts.append(f"created_at > ${len(args) + 1}")
    return " AND ".join(parts), args


async def page(
    db: DB,
    *,
    project_id: str,
    conditions: Sequence[tuple[str, str, Sequence[str]]],
    created: tuple[int | None, int | None],
    descending: bool,
    limit: int,
    offset: int,
) -> list[Row]:
    where, args = _where(conditions, created)
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"SELECT {COLUMNS} FROM redemption WHERE project_id = $1 AND {where}"
        f" ORDER BY created_at {direction}, id {direction}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        *args,
    )


async def count(
    db: DB,
    *,
    project_id: str,
    conditions: Sequence[tuple[str, str, Sequence[str]]],
    created: tuple[int | None, int | None],
) -> int:
    where, args = _where(conditions, created)
    return await db.fetchval(
        f"SELECT COUNT(*) FROM redemption WHERE project_id = $1 AND {where}", project_id, *args
    )


async def totals_of(db: DB, *, project_id: str, customer_id: str) -> Row:
    """The customer's voucher redemptions and rollbacks counted (stacked parents left out)."""
    return await db.fetchrow(
        "SELECT"
        " COALESCE(SUM(CASE WHEN object = 'redemption' THEN 1 ELSE 0 END), 0) AS redeemed,"
        " COALESCE(SUM(CASE WHEN object = 'redemption' AND result = 'SUCCESS' THEN 1 ELSE 0"
        " END), 0) AS succeeded,"
        " COALESCE(SUM(CASE WHEN object = 'redemption' AND result = 'FAILURE' THEN 1 ELSE 0"
        " END), 0) AS failed,"
        " COALESCE(SUM(CASE WHEN object = 'redemption_rollback' THEN 1 ELSE 0 END), 0)"
        " AS rolled_back,"
        " COALESCE(SUM(CASE WHEN object = 'redemption_rollback' AND result = 'SUCCESS' THEN 1"
        " ELSE 0 END), 0) AS rollback_succeeded,"
        " COALESCE(SUM(CASE WHEN object = 'redemption_rollback' AND result = 'FAILURE' THEN 1"
        " ELSE 0 END), 0) AS rollback_failed,"
        " COALESCE(SUM(CASE WHEN object = 'redemption' AND status = 'SUCCEEDED' THEN credits"
        " ELSE 0 END), 0) AS credits,"
        " COALESCE(SUM(CASE WHEN object = 'redemption' AND status = 'SUCCEEDED' THEN points"
        " ELSE 0 END), 0) AS points"
        " FROM redemption WHERE project_id = $1 AND customer_id = $2"
        " AND related_object_type = 'voucher'",
        project_id,
        customer_id,
    )


async def anonymise(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """Unlink the customers from their redemptions (kept as financial records)."""
    marks = ", ".join(f"${i}" for i in range(2, len(customer_ids) + 2))
    rows = await conn.fetch(
        f"UPDATE redemption SET customer_id = NULL, tracking_id = NULL"
        f" WHERE project_id = $1 AND customer_id IN ({marks}) RETURNING id",
        project_id,
        *customer_ids,
    )
    return len(rows)


async def of_customers(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> list[Row]:
    marks = ", ".join(f"${i}" for i in range(2, len(customer_ids) + 2))
    return await conn.fetch(
        f"SELECT id, document FROM redemption WHERE project_id = $1 AND customer_id IN ({marks})",
        project_id,
        *customer_ids,
    )


async def set_document(
    conn: Conn, *, project_id: str, redemption_id: str, document: str | None
) -> None:
    await conn.execute(
        "UPDATE redemption SET document = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        redemption_id,
        document,
    )


async def lock(conn: Conn, *, project_id: str, redemption_id: str) -> Row | None:
    """The redemption, its row locked for the transaction (PostgreSQL; SQLite is serial)."""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM redemption WHERE project_id = $1 AND id = $2"
        + dialect.for_update_sql(kind_of(conn)),
        project_id,
        redemption_id,
    )
