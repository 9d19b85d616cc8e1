"""SQL for customers. Every function takes `project_id`; no query runs without it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of
from patrons.db.tables import COUNTER_SLOTS, CUSTOMER_COLUMNS, HOLDINGS_COLUMNS

OWN_COLUMNS = ", ".join(CUSTOMER_COLUMNS)
COLUMNS = ", ".join((*CUSTOMER_COLUMNS, *HOLDINGS_COLUMNS))  # what a read returns


async def get_by_id(db: DB, *, project_id: str, customer_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
    )


async def get_by_source_id(db: DB, *, project_id: str, source_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND source_id = $2",
        project_id,
        source_id,
    )


async def insert(conn: Conn, *, project_id: str, values: dict[str, Any]) -> Row:
    names = ["project_id", *values]
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    return await conn.fetchrow(
        f"INSERT INTO customer ({', '.join(names)}) VALUES ({marks}) RETURNING {COLUMNS}",
        project_id,
        *values.values(),
    )


async def upsert_by_source_id(
    conn: Conn, *, project_id: str, values: dict[str, Any], changes: dict[str, Any]
) -> Row:
    """Insert `values`, or apply `changes` to the live customer with the same source_id.

    A fresh row comes back with `updated_at` NULL; an updated one with it set.
    """
    names = ["project_id", *values]
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    args: list[Any] = [project_id, *values.values()]
    sets = []
    for column, value in changes.items():
        args.append(value)
        sets.append(f"{column} = ${len(args)}")
    return await conn.fetchrow(
        f"INSERT INTO customer ({', '.join(names)}) VALUES ({marks})"
        f" ON CONFLICT (project_id, source_id) DO UPDATE SET {', '.join(sets)}"
        f" RETURNING {COLUMNS}",
        *args,
    )


async def update(
    conn: Conn, *, project_id: str, customer_id: str, changes: dict[str, Any]
) -> Row | None:
    args: list[Any] = [project_id, customer_id]
    sets = []
    for column, value in changes.items():
        args.append(value)
        sets.append(f"{column} = ${len(args)}")
    return await conn.fetchrow(
        f"UPDATE customer SET {', '.join(sets)} WHERE project_id = $1 AND id = $2"
        f" RETURNING {COLUMNS}",
        *args,
    )


async def soft_delete(conn: Conn, *, project_id: str, customer_id: str, deleted_at: int) -> bool:
    """Move the customer into `customer_deleted`; False when it was not there."""
    await conn.execute(
        f"INSERT INTO customer_deleted (project_id, {OWN_COLUMNS}, deleted_at)"
        f" SELECT project_id, {OWN_COLUMNS}, $3 FROM customer WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
        deleted_at,
    )
    gone = await conn.fetchval(
        "DELETE FROM customer WHERE project_id = $1 AND id = $2 RETURNING id",
        project_id,
        customer_id,
    )
    return gone is not None


async def add_to_count(conn: Conn, *, project_id: str, delta: int) -> None:
    """Add to one random slot of the project's live-customer counter (see tables.py)."""
    await conn.execute(
        "INSERT INTO customer_counter (project_id, slot, n) VALUES ($1, $2, $3)"
        " ON CONFLICT (project_id, slot) DO UPDATE SET n = customer_counter.n + EXCLUDED.n",
        project_id,
        random.randrange(COUNTER_SLOTS),
        delta,
    )


async def live_count(db: DB, *, project_id: str) -> int:
    total = await db.fetchval(
        "SELECT SUM(n) FROM customer_counter WHERE project_id = $1", project_id
    )
    return int(total or 0)


async def fetch_page(
    db: DB,
    *,
    project_id: str,
    where: Sequence[str],
    args: Sequence[Any],
    order_by: str,
    limit: int,
    offset: int = 0,
) -> list[Row]:
    """One page. `where` conditions number their placeholders from $2 ($1 is the project)."""
    conditions = " AND ".join(["project_id = $1", *where])
    return await db.fetch(
        f"SELECT {COLUMNS} FROM customer WHERE {conditions} ORDER BY {order_by}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        *args,
    )


async def count(db: DB, *, project_id: str, where: Sequence[str], args: Sequence[Any]) -> int:
    conditions = " AND ".join(["project_id = $1", *where])
    return await db.fetchval(f"SELECT COUNT(*) FROM customer WHERE {conditions}", project_id, *args)


async def find_many(db: DB, *, project_id: str, refs: Sequence[str]) -> list[Row]:
    """Live customers whose id or source_id is among `refs` (one statement)."""
    kind = kind_of(db)
    values = dialect.list_param(kind, list(refs))
    return await db.fetch(
        f"SELECT id, source_id FROM customer WHERE project_id = $1"
        f" AND (id IN {dialect.in_list_sql(kind, '$2')}"
        f" OR source_id IN {dialect.in_list_sql(kind, '$3')})",
        project_id,
        values,
        values,
    )


async def fetch_by_ids(db: DB, *, project_id: str, customer_ids: Sequence[str]) -> list[Row]:
    kind = kind_of(db)
    return await db.fetch(
        f"SELECT {COLUMNS} FROM customer WHERE project_id = $1"
        f" AND id IN {dialect.in_list_sql(kind, '$2')}",
        project_id,
        dialect.list_param(kind, list(customer_ids)),
    )


# --- permanent deletion (customers/erasure.py) ------------------------------------------------


async def deleted_by_id(db: DB, *, project_id: str, customer_id: str) -> Row | None:
    """A soft-deleted customer (tombstone) by its `cust_` id."""
    return await db.fetchrow(
        f"SELECT {OWN_COLUMNS} FROM customer_deleted WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
    )


async def deleted_by_source_id(db: DB, *, project_id: str, source_id: str) -> list[Row]:
    """Every tombstone with this source_id, newest first (one person deleted more than once)."""
    return await db.fetch(
        f"SELECT {OWN_COLUMNS} FROM customer_deleted WHERE project_id = $1 AND source_id = $2"
        " ORDER BY deleted_at DESC, id DESC",
        project_id,
        source_id,
    )


async def erase_rows(
    conn: Conn, *, project_id: str, customer_ids: Sequence[str]
) -> tuple[int, int]:
    """Delete live rows and tombstones with these ids; (live deleted, tombstones deleted).

    The live row goes first: on PostgreSQL its row lock makes a concurrent writer of the same
    customer finish (and its event commit) before the erasure reads anything else.
    """
    kind = kind_of(conn)
    ids = dialect.list_param(kind, list(customer_ids))
    within = dialect.in_list_sql(kind, "$2")
    live = await conn.fetch(
        f"DELETE FROM customer WHERE project_id = $1 AND id IN {within} RETURNING id",
        project_id,
        ids,
    )
    dead = await conn.fetch(
        f"DELETE FROM customer_deleted WHERE project_id = $1 AND id IN {within} RETURNING id",
        project_id,
        ids,
    )
    return len(live), len(dead)


async def holdings_mentioning(conn: Conn, *, project_id: str, needle: str) -> list[Row]:
    """Customers whose stored holdings (e.g. `referrals`) contain the JSON text `needle`."""
    kind = kind_of(conn)
    conditions = " OR ".join(
        dialect.text_contains(kind, f"CAST({column} AS TEXT)", "$2") for column in HOLDINGS_COLUMNS
    )
    return await conn.fetch(
        f"SELECT id, {', '.join(HOLDINGS_COLUMNS)} FROM customer"
        f" WHERE project_id = $1 AND ({conditions})",
        project_id,
        needle,
    )


# --- what a customer holds: computed by redeemables/holdings.py, stored here ------------------


async def set_holdings(
    conn: Conn,
    *,
    project_id: str,
    customer_id: str,
    summary: str | None,
    loyalty: str | None,
    referrals: str | None,
) -> None:
    await conn.execute(
        "UPDATE customer SET summary = $3, loyalty = $4, referrals = $5"
        " WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
        summary,
        loyalty,
        referrals,
    )
