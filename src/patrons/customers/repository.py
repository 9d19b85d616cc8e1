"""SQL for customers. Every function takes `project_id`; no query runs without it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of
from patrons.db.tables import COUNTER_SLOTS, CUSTOMER_COLUMNS, HOLDINGS_COLUMNS

OWN_COLUMNS = ", ".join(CUSTOMER_COLUMNS)
# what a read returns (`system_metadata`: consents/, stored through set_system_metadata)
READ_COLUMNS = (*CUSTOMER_COLUMNS, *HOLDINGS_COLUMNS, "system_metadata")
COLUMNS = ", ".join(READ_COLUMNS)


_BY_ID = f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND id = $2"
_BY_SOURCE_ID = f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND source_id = $2"


# The two point reads hand back the driver's awaitable rather than awaiting it in a frame of
# their own: the GET-by-id lane is the hottest path, and each coroutine layer showed in it.
def get_by_id(db: DB, *, project_id: str, customer_id: str) -> Awaitable[Row | None]:
    return db.fetchrow(_BY_ID, project_id, customer_id)


def get_by_source_id(db: DB, *, project_id: str, source_id: str) -> Awaitable[Row | None]:
    return db.fetchrow(_BY_SOURCE_ID, project_id, source_id)


async def get_by_email(db: DB, *, project_id: str, email: str) -> Row | None:
    """The oldest live customer with this e-mail, compared case-insensitively."""
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND lower(email) = lower($2)"
        " ORDER BY created_at, id LIMIT 1",
        project_id,
        email,
    )


# house: cross-project — builds one SET clause for the writers here and in bulk_repository
def assignment(column: str, value: str) -> str:
    """`column = value` in an UPDATE (or ON CONFLICT DO UPDATE) of customer. `address_keys`
    merges: the keys sent now join those sent before, unless the address was null (then
    they replace them) — the right-hand side reads the row as it was."""
    if column == "address_keys":
        return (
            f"address_keys = CASE WHEN customer.address_set"
            f" THEN customer.address_keys | {value} ELSE {value} END"
        )
    return f"{column} = {value}"


def _also(also: str, webhook: str = "") -> str:
    """Extra RETURNING columns: `also` is a boolean SQL expression returned as auto_segments,
    `webhook` one returned as webhook_active (read in the write itself: no statement of its
    own, and no per-process cache decides it)."""
    extra = f", {also} AS auto_segments" if also else ""
    return f"{extra}, {webhook} AS webhook_active" if webhook else extra


async def insert(
    conn: Conn, *, project_id: str, values: dict[str, Any], also: str = "", webhook: str = ""
) -> Row:
    return await conn.fetchrow(
        _insert_sql(tuple(values), also, webhook), project_id, *values.values()
    )


async def upsert_by_source_id(
    conn: Conn,
    *,
    project_id: str,
    values: dict[str, Any],
    changes: dict[str, Any],
    also: str = "",
    webhook: str = "",
) -> Row:
    """Insert `values`, or apply `changes` to the live customer with the same source_id.

    A fresh row comes back with `updated_at` NULL; an updated one with it set.
    """
    return await conn.fetchrow(
        _upsert_sql(tuple(values), tuple(changes), also, webhook),
        project_id,
        *values.values(),
        *changes.values(),
    )


async def update(
    conn: Conn,
    *,
    project_id: str,
    changes: dict[str, Any],
    target: str,
    by: str = "id",
    also: str = "",
    webhook: str = "",
) -> Row | None:
    """Apply `changes` to the live customer whose `by` (id, source_id, or ref: an id naming
    a live customer, else a source_id) is `target`."""
    return await conn.fetchrow(
        _update_sql(tuple(changes), by, also, webhook), project_id, target, *changes.values()
    )


# The statements' text per set of column names (built once each: a create or update is
# otherwise mostly string building in Python before the database sees it).
def _insert_head(names: tuple[str, ...]) -> str:
    """`INSERT INTO customer (project_id, <names>) VALUES ($1, …)`."""
    columns = ", ".join(("project_id", *names))
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 2))
    return f"INSERT INTO customer ({columns}) VALUES ({marks})"


@lru_cache(maxsize=256)
def _insert_sql(names: tuple[str, ...], also: str, webhook: str) -> str:
    return f"{_insert_head(names)} RETURNING {COLUMNS}{_also(also, webhook)}"


@lru_cache(maxsize=256)
def _upsert_sql(names: tuple[str, ...], changed: tuple[str, ...], also: str, webhook: str) -> str:
    first = len(names) + 2  # after project_id and the values
    sets = ", ".join(assignment(c, f"${first + i}") for i, c in enumerate(changed))
    return (
        f"{_insert_head(names)} ON CONFLICT (project_id, source_id) DO UPDATE SET {sets}"
        f" RETURNING {COLUMNS}{_also(also, webhook)}"
    )


@lru_cache(maxsize=256)
def _update_sql(changed: tuple[str, ...], by: str, also: str, webhook: str) -> str:
    sets = ", ".join(assignment(c, f"${3 + i}") for i, c in enumerate(changed))
    return (
        f"UPDATE customer SET {sets} WHERE project_id = $1 AND {_target_sql(by, '$2')}"
        f" RETURNING {COLUMNS}{_also(also, webhook)}"
    )


# --- single-customer writes that record their event in the same statement -------------------


class Recorder(Protocol):
    """What the written rows' events need (activities.service.WrittenEvents)."""

    args: tuple[Any, ...]

    def sql(self, kind: str, *, source: str, first: int) -> str: ...


def _target_sql(by: str, mark: str) -> str:
    """The customer an UPDATE writes: by `id`, by `source_id`, or by `ref` (an id naming a
    live customer, else a source_id — customers.service.resolve in one condition)."""
    if by == "ref":
        return (
            f"id = COALESCE((SELECT id FROM customer WHERE project_id = $1 AND id = {mark}),"
            f" (SELECT id FROM customer WHERE project_id = $1 AND source_id = {mark}))"
        )
    return f"{by} = {mark}"


@lru_cache(maxsize=512)
def _recorded_sql(
    kind: str,
    how: str,
    names: tuple[str, ...],
    sets: tuple[str, ...],
    by: str,
    guarded: bool,
    exists_sql: str,
    recorder: Callable[..., str],
) -> str:
    """The one statement of a single-customer write on a database with data-modifying CTEs.

    Parameters: $1 project, then `names` (insert values) or the target (update), then `sets`,
    the counter slot, then the event's. `guarded`: write nothing when `exists_sql` holds.
    """
    n = 1
    marks = []
    for _ in names:
        n += 1
        marks.append(f"${n}")
    if how == "update":
        n += 1
        target = _target_sql(by, f"${n}")
    assignments = []
    for column in sets:
        n += 1
        assignments.append(assignment(column, f"${n}"))
    slot = f"${n + 1}"
    guard = " WHERE NOT g.auto_segments" if guarded else ""
    if how == "update":
        write = (
            f"UPDATE customer SET {', '.join(assignments)} FROM g"
            f" WHERE project_id = $1 AND {target}{guard.replace(' WHERE', ' AND')}"
        )
    else:
        write = (
            f"INSERT INTO customer (project_id, {', '.join(names)})"
            f" SELECT $1, {', '.join(marks)} FROM g{guard}"
        )
        if how == "upsert":
            write += f" ON CONFLICT (project_id, source_id) DO UPDATE SET {', '.join(assignments)}"
    returning = ", ".join(f"customer.{c}" for c in COLUMNS.split(", "))
    return (
        f"WITH g AS (SELECT {exists_sql} AS auto_segments),"
        f" w AS ({write} RETURNING {returning}),"
        " n AS (INSERT INTO customer_counter (project_id, slot, n)"
        f" SELECT $1, CAST({slot} AS INTEGER), 1 FROM w WHERE updated_at IS NULL"
        " ON CONFLICT (project_id, slot) DO UPDATE SET n = customer_counter.n + EXCLUDED.n),"
        f" e AS ({recorder(kind, source='w', first=n + 2)})"
        " SELECT w.*, g.auto_segments FROM g LEFT JOIN w ON TRUE"
    )


async def write_recorded(
    db: DB,
    *,
    project_id: str,
    how: str,
    values: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    by: str = "id",
    target: str | None = None,
    events: Recorder,
    auto_update_sql: str,
    guarded: bool,
) -> tuple[Row | None, bool]:
    """A single-customer write in one statement (`dialect.data_modifying_ctes`): the row
    written (`how`: insert `values`; upsert `values` by source_id, else apply `changes`;
    update the customer `by` id/source_id/ref = `target` with `changes`), its counter slot when
    fresh, its created/updated event — and whether the project has auto-update segments.

    Returns (row, auto_segments); row None when no customer matched the target, or when
    `guarded` and the project has auto-update segments (then nothing was written: the caller
    writes again in a transaction with the segment upkeep). Runs in autocommit when given the
    database: one statement is one atomic round trip.
    """
    kind = kind_of(db)
    names = tuple(values or ())
    sets = tuple(changes or ())
    sql = _recorded_sql(kind, how, names, sets, by, guarded, auto_update_sql, events.sql)
    args: list[Any] = [project_id, *(values or {}).values()]
    if how == "update":
        args.append(target)
    args.extend((changes or {}).values())
    args.append(random.randrange(COUNTER_SLOTS))
    args.extend(events.args)
    row = await db.fetchrow(sql, *args)
    assert row is not None  # g always yields one row
    return (row if row["id"] is not None else None), bool(row["auto_segments"])


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


async def add_to_count(conn: Conn, *, project_id: str, delta: int, slot: int | None = None) -> int:
    """Add to one slot (random unless given) of the project's live-customer counter (see
    tables.py); the slot. With `delta` 0 it only takes the slot's row lock (`hold_count`)."""
    if slot is None:
        slot = random.randrange(COUNTER_SLOTS)
    await conn.execute(
        "INSERT INTO customer_counter (project_id, slot, n) VALUES ($1, $2, $3)"
        " ON CONFLICT (project_id, slot) DO UPDATE SET n = customer_counter.n + EXCLUDED.n",
        project_id,
        slot,
        delta,
    )
    return slot


# The counter slot bulk chunks add to, outside the random slots of single writes: a chunk
# writes its rows (their day counts locked by the trigger) and only then counts them, while a
# single create locks its new row, then its slot, then its day counts — sharing slots, the two
# deadlocked on PostgreSQL either way round (chunk counting last: slot against day count;
# chunk taking its slot first: slot against a new row both wrote; tests/test_scale_out.py saw
# both). Chunks only meet each other on this slot, after all their row and day-count locks.
BULK_COUNTER_SLOT = COUNTER_SLOTS


async def hold_count(conn: Conn, *, project_id: str) -> int:
    """Lock a counter slot for the caller's transaction before it writes `customer` rows; add
    to it afterwards (`add_to_count(…, slot=)`). Lock order: a single-customer write statement
    bumps its slot before the statement's day-count trigger (migration 0015) runs, so a
    transaction that wrote customers (day-count rows locked by the trigger) and only then took
    a slot could deadlock with it on PostgreSQL — seen under mixed load in tests/test_scale_out.
    Counter first, then customer rows (and their day counts), for deletes and erasures; bulk
    chunks count on their own slot (BULK_COUNTER_SLOT)."""
    return await add_to_count(conn, project_id=project_id, delta=0)


async def live_count(db: DB, *, project_id: str) -> int:
    total = await db.fetchval(
        "SELECT SUM(n) FROM customer_counter WHERE project_id = $1", project_id
    )
    return int(total or 0)


_SORT_COLUMNS = {c: c for c in ("created_at", "updated_at", "source_id")}  # the list orders


async def fetch_page(
    db: DB,
    *,
    project_id: str,
    where: Sequence[str],
    args: Sequence[Any],
    order_by: str,
    limit: int,
    offset: int = 0,
    filter_first: bool = False,
    sort_column: str = "created_at",
) -> list[Row]:
    """One page. `where` conditions number their placeholders from $2 ($1 is the project).

    `filter_first`: collect the (few) matching customers' sort keys first, then sort them —
    for filters whose matches the sort index would reach only after a long walk (a range on
    `updated_at` while sorting by `created_at`: the two are correlated, so the planner's
    independence estimate picks the walk and reads most of the table for 11 rows). Only the
    keys `order_by` sorts on (`sort_column`, `id`) are collected, so an index carrying them
    (PostgreSQL's `updated_at` index includes `created_at`) answers without the table.
    """
    conditions = " AND ".join(["project_id = $1", *where])
    if filter_first:
        return await db.fetch(
            f"WITH m AS MATERIALIZED (SELECT id, {_SORT_COLUMNS[sort_column]} FROM customer"
            f" WHERE {conditions}),"
            f" p AS (SELECT id FROM m ORDER BY {order_by} LIMIT {int(limit)} OFFSET {int(offset)})"
            f" SELECT {COLUMNS} FROM customer WHERE project_id = $1"
            f" AND id IN (SELECT id FROM p) ORDER BY {order_by}",
            project_id,
            *args,
        )
    return await db.fetch(
        f"SELECT {COLUMNS} FROM customer WHERE {conditions} ORDER BY {order_by}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        *args,
    )


async def count(db: DB, *, project_id: str, where: Sequence[str], args: Sequence[Any]) -> int:
    conditions = " AND ".join(["project_id = $1", *where])
    return await db.fetchval(f"SELECT COUNT(*) FROM customer WHERE {conditions}", project_id, *args)


async def count_created(
    db: DB, *, project_id: str, op: str, value: int, from_other_side: bool
) -> int:
    """Customers with `created_at <op> value` (op `<` or `>`), exactly. `from_other_side`:
    counted as the live-customer counter minus the customers on the other side of the bound
    (one statement, one snapshot) — an index-only count of the smaller side."""
    if op not in ("<", ">"):
        raise ValueError(op)
    if not from_other_side:
        return await db.fetchval(
            f"SELECT COUNT(*) FROM customer WHERE project_id = $1 AND created_at {op} $2",
            project_id,
            value,
        )
    other = ">=" if op == "<" else "<="
    return await db.fetchval(
        # CAST: PostgreSQL's SUM(bigint) is numeric, which asyncpg returns as a Decimal and
        # msgspec would send as a string ("total": "2"), which the Python SDK refuses.
        "SELECT CAST((SELECT COALESCE(SUM(n), 0) FROM customer_counter WHERE project_id = $1)"
        f" - (SELECT COUNT(*) FROM customer WHERE project_id = $1 AND created_at {other} $2)"
        " AS BIGINT)",
        project_id,
        value,
    )


DAY_MS = 86_400_000
_STAMPS = {"created_at": 0, "updated_at": 1}  # customer_day_count.stamp


async def count_by_days(db: DB, *, project_id: str, column: str, op: str, value: int) -> int:
    """Customers with `column <op> value` (`created_at` / `updated_at`, op `<` or `>`), exactly,
    where `customer_day_count` is kept (dialect.day_counts): the whole days past the bound's
    day from the day counts, the bound's own day from the index — one statement, one
    snapshot, and the day counts change in the writers' transactions."""
    stamp = _STAMPS[column]
    day = value // DAY_MS
    if op == ">":
        days, edge = "day > $3", f"{column} > $4 AND {column} < $5"
        low, high = value, (day + 1) * DAY_MS
    elif op == "<":
        days, edge = "day < $3", f"{column} >= $4 AND {column} < $5"
        low, high = day * DAY_MS, value
    else:
        raise ValueError(op)
    return await db.fetchval(
        # CAST: SUM(bigint) is numeric on PostgreSQL (see count_created).
        "SELECT CAST((SELECT COALESCE(SUM(n), 0) FROM customer_day_count"
        f" WHERE project_id = $1 AND stamp = $2 AND {days})"
        f" + (SELECT COUNT(*) FROM customer WHERE project_id = $1 AND {edge}) AS BIGINT)",
        project_id,
        stamp,
        day,
        low,
        high,
    )


async def created_at_rank(db: DB, *, project_id: str, position: int) -> int | None:
    """The `created_at` of the customer at `position` in creation order (0 = oldest)."""
    return await db.fetchval(
        "SELECT created_at FROM customer WHERE project_id = $1"
        f" ORDER BY created_at LIMIT 1 OFFSET {max(0, int(position))}",
        project_id,
    )


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


async def lock_summary(conn: Conn, *, project_id: str, customer_id: str) -> tuple[bool, str | None]:
    """(the customer exists, its stored `summary` JSON), the row locked for the transaction
    (PostgreSQL; SQLite writers are serial): read-merge-write of the summary stays whole."""
    row = await conn.fetchrow(
        "SELECT summary FROM customer WHERE project_id = $1 AND id = $2"
        + dialect.for_update_sql(kind_of(conn)),
        project_id,
        customer_id,
    )
    if row is None:
        return False, None
    return True, row["summary"]


async def set_summary(conn: Conn, *, project_id: str, customer_id: str, summary: str) -> None:
    await conn.execute(
        "UPDATE customer SET summary = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
        summary,
    )


async def set_system_metadata(
    conn: Conn, *, project_id: str, customer_id: str, system_metadata: str | None
) -> None:
    await conn.execute(
        "UPDATE customer SET system_metadata = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        customer_id,
        system_metadata,
    )


async def newest_created_at(conn: Conn, *, project_id: str) -> int | None:
    """The project's newest live customer's `created_at` (an index lookup)."""
    return await conn.fetchval(
        "SELECT MAX(created_at) FROM customer WHERE project_id = $1", project_id
    )


async def next_created_at(conn: Conn, *, project_id: str, now: int) -> int:
    """`now`, or the millisecond after the project's newest customer when that is later (a
    bulk import stamps its rows in consecutive milliseconds, which can run ahead of the
    clock): the next bulk chunk then shares no millisecond with it."""
    newest = await newest_created_at(conn, project_id=project_id)
    return now if newest is None or newest < now else newest + 1
