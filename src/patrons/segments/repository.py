"""SQL for segments and their stored members. Every function takes `project_id`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrons.db import dialect, erase
from patrons.db.database import DB, Conn, Row, kind_of

COLUMNS = "id, name, type, filter, created_at, updated_at"


async def insert(
    conn: Conn,
    *,
    project_id: str,
    segment_id: str,
    name: str,
    type_: str,
    filter_json: str | None,
    created_at: int,
) -> Row:
    return await conn.fetchrow(
        "INSERT INTO segment (project_id, id, name, type, filter, created_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}",
        project_id,
        segment_id,
        name,
        type_,
        filter_json,
        created_at,
    )


async def get(db: DB, *, project_id: str, segment_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM segment WHERE project_id = $1 AND id = $2", project_id, segment_id
    )


async def list_(db: DB, *, project_id: str, descending: bool, limit: int, offset: int) -> list[Row]:
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"SELECT {COLUMNS} FROM segment WHERE project_id = $1"
        f" ORDER BY created_at {direction}, id {direction} LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
    )


async def of_types(db: DB, *, project_id: str, types: Sequence[str]) -> list[Row]:
    marks = ", ".join(f"${i + 2}" for i in range(len(types)))
    return await db.fetch(
        f"SELECT {COLUMNS} FROM segment WHERE project_id = $1 AND type IN ({marks})"
        " ORDER BY created_at, id",
        project_id,
        *types,
    )


# house: cross-project — a fragment of the caller's statement, whose $1 is the project
def type_exists_sql(type_: str) -> str:
    """A boolean SQL expression: the project ($1) has a segment of `type_` (a key lookup),
    folded into a customer write so the write learns whether membership upkeep is due."""
    if not type_.replace("-", "").isalnum():
        raise ValueError(f"bad segment type {type_!r}")
    return f"EXISTS (SELECT 1 FROM segment WHERE project_id = $1 AND type = '{type_}')"


async def count(db: DB, *, project_id: str, types: Sequence[str] | None = None) -> int:
    if not types:
        return await db.fetchval("SELECT COUNT(*) FROM segment WHERE project_id = $1", project_id)
    marks = ", ".join(f"${i + 2}" for i in range(len(types)))
    return await db.fetchval(
        f"SELECT COUNT(*) FROM segment WHERE project_id = $1 AND type IN ({marks})",
        project_id,
        *types,
    )


async def delete(conn: Conn, *, project_id: str, segment_id: str) -> bool:
    await conn.execute(
        "DELETE FROM segment_member WHERE project_id = $1 AND segment_id = $2",
        project_id,
        segment_id,
    )
    gone = await conn.fetchval(
        "DELETE FROM segment WHERE project_id = $1 AND id = $2 RETURNING id", project_id, segment_id
    )
    return gone is not None


async def add_members(
    conn: Conn, *, project_id: str, segment_id: str, customer_ids: Sequence[str]
) -> list[str]:
    """Insert memberships that do not exist yet; returns the customer ids actually added."""
    if not customer_ids:
        return []
    kind = kind_of(conn)
    rows = await conn.fetch(
        "INSERT INTO segment_member (project_id, segment_id, customer_id)"
        f" SELECT $1, $2, value FROM {dialect.values_list_sql(kind, '$3')} WHERE true"
        " ON CONFLICT DO NOTHING RETURNING customer_id",
        project_id,
        segment_id,
        dialect.list_param(kind, list(customer_ids)),
    )
    return [r["customer_id"] for r in rows]


async def remove_members(
    conn: Conn, *, project_id: str, segment_id: str, customer_ids: Sequence[str]
) -> list[str]:
    if not customer_ids:
        return []
    kind = kind_of(conn)
    rows = await conn.fetch(
        "DELETE FROM segment_member WHERE project_id = $1 AND segment_id = $2"
        f" AND customer_id IN {dialect.in_list_sql(kind, '$3')} RETURNING customer_id",
        project_id,
        segment_id,
        dialect.list_param(kind, list(customer_ids)),
    )
    return [r["customer_id"] for r in rows]


async def add_matching(
    conn: Conn, *, project_id: str, segment_id: str, rule_sql: str, rule_args: Sequence[Any]
) -> None:
    """Initial sync of an auto-update segment: every live customer the rule matches."""
    await conn.execute(
        "INSERT INTO segment_member (project_id, segment_id, customer_id)"
        f" SELECT project_id, CAST($2 AS TEXT), id FROM customer WHERE project_id = $1"
        f" AND ({rule_sql})",
        project_id,
        segment_id,
        *rule_args,
    )


async def memberships(
    db: DB, *, project_id: str, customer_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """(customer_id, segment_id) for the given customers' stored memberships."""
    if not customer_ids:
        return []
    kind = kind_of(db)
    rows = await db.fetch(
        "SELECT customer_id, segment_id FROM segment_member WHERE project_id = $1"
        f" AND customer_id IN {dialect.in_list_sql(kind, '$2')}",
        project_id,
        dialect.list_param(kind, list(customer_ids)),
    )
    return [(r["customer_id"], r["segment_id"]) for r in rows]


async def drop_customer(conn: Conn, *, project_id: str, customer_id: str) -> None:
    await conn.execute(
        "DELETE FROM segment_member WHERE project_id = $1 AND customer_id = $2",
        project_id,
        customer_id,
    )


async def erase_customers(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """Permanent deletion: drop every stored membership of these customers; the count."""
    return await erase.delete_customer_rows(
        conn, project_id=project_id, table="segment_member", customer_ids=customer_ids
    )
