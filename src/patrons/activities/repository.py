"""SQL for the customer event log. Every function takes `project_id`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from patrons.core.ids import EVENT_COUNTER_SPAN
from patrons.db import dialect, erase
from patrons.db.database import DB, Conn, Row, kind_of

COLUMNS = "id, customer_id, type, category, group_id, snapshot, extra, event_source, created_at"


async def record_from_customers(
    conn: Conn,
    *,
    project_id: str,
    customer_ids: Sequence[str],
    type_: str,
    category: str,
    group_id: str | None,
    event_source: str,
    extra: str | None,
    now: int,
    campaign_id: str | None = None,
    campaign_type: str | None = None,
    then: str | None = None,
    returning: bool = False,
    id_block: tuple[str, int] | None = None,
) -> list[Row]:
    """One event per listed live customer, snapshotting its row in the same statement.

    A chunk of thousands of customers costs one statement, not one round trip per row.
    `then`: a statement run in the same one on the inserted events, as `WITH e AS (<insert>
    RETURNING id, customer_id, created_at) <then>` (the webhook outbox, where the database has
    data-modifying CTEs); `returning`: return those columns of the events instead.
    `id_block`: the events' ids are the `core.ids.event_id_block` reserved for them, in
    customer id order (else random).
    """
    if not customer_ids:
        return []
    kind = kind_of(conn)
    event_id = (
        f"'evcus_' || {dialect.random_hex_sql(kind, 18)}"
        if id_block is None
        else _block_id_sql(kind, prefix="$11", first="$12")
    )
    insert = (
        "INSERT INTO customer_event (project_id, id, customer_id, type, category, group_id,"
        " snapshot, extra, event_source, created_at, campaign_id, campaign_type)"
        f" SELECT project_id, {event_id}, id,"
        f" CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT),"
        f" {dialect.customer_snapshot_sql(kind)}, {dialect.json_param_sql(kind, '$5')},"
        f" {dialect.json_param_sql(kind, '$6')}, CAST($7 AS BIGINT),"
        " CAST($9 AS TEXT), CAST($10 AS TEXT)"
        f" FROM customer WHERE project_id = $1 AND id IN {dialect.in_list_sql(kind, '$8')}"
    )
    args = (
        project_id,
        type_,
        category,
        group_id,
        extra,
        event_source,
        now,
        dialect.list_param(kind, list(customer_ids)),
        campaign_id,
        campaign_type,
        *(() if id_block is None else id_block),
    )
    if then is not None:
        await conn.execute(
            f"WITH e AS ({insert} RETURNING id, customer_id, created_at) {then}", *args
        )
        return []
    if returning:
        return await conn.fetch(f"{insert} RETURNING id, customer_id, created_at", *args)
    await conn.execute(insert, *args)
    return []


def _block_id_sql(kind: str, *, prefix: str, first: str) -> str:
    """Per selected row, the next id of a `core.ids.event_id_block`: prefix + 6 hex of
    (first + row number) modulo the counter span, the rows numbered in customer id order."""
    number = "row_number() OVER (ORDER BY id) - 1"
    counter = f"(CAST({first} AS BIGINT) + {number}) % {EVENT_COUNTER_SPAN}"
    return f"CAST({prefix} AS TEXT) || {dialect.hex_sql(kind, counter, 6)}"


async def copy_events(conn: Any, *, project_id: str, events: Iterable[Sequence[Any]]) -> None:
    """Events of `project_id` whose every column the caller holds — whole rows, `(project_id,
    id, customer_id, type, category, group_id, snapshot, extra, event_source, created_at)`,
    JSON columns as text — in one COPY. PostgreSQL only (asyncpg's COPY)."""
    await conn.copy_records_to_table(
        "customer_event",
        records=events,
        columns=["project_id", *(c.strip() for c in COLUMNS.split(","))],
    )


@lru_cache(maxsize=64)
# house: cross-project — a fragment of the caller's statement, whose $1 is the project
def written_events_sql(kind: str, *, source: str, first: int) -> str:
    """An `INSERT INTO customer_event … SELECT … FROM <source>`: the event of the one customer
    row of `source` (a CTE of the row just written, RETURNING the customer columns),
    snapshotting that row, for a data-modifying CTE that writes and records in one statement.

    Parameters from `$first`: the type of a fresh row (`updated_at` NULL), the type of an
    updated one, category, group_id, event_source (JSON text), created_at, the event's id.
    """
    p = [f"${first + i}" for i in range(7)]
    return (
        "INSERT INTO customer_event (project_id, id, customer_id, type, category, group_id,"
        " snapshot, extra, event_source, created_at)"
        f" SELECT $1, CAST({p[6]} AS TEXT), id,"
        f" CASE WHEN updated_at IS NULL THEN CAST({p[0]} AS TEXT) ELSE CAST({p[1]} AS TEXT) END,"
        f" CAST({p[2]} AS TEXT), CAST({p[3]} AS TEXT), {dialect.customer_snapshot_sql(kind)},"
        f" NULL, {dialect.json_param_sql(kind, p[4])}, CAST({p[5]} AS BIGINT) FROM {source}"
    )


async def record_written(
    conn: Conn, *, project_id: str, customer_id: str, args: Sequence[Any]
) -> None:
    """The created/updated event of one customer row just written by a separate statement
    (databases without data-modifying CTEs): `written_events_sql` on the row read by its
    primary key, so the event is the one the single-statement write records. `args`: that
    SQL's seven parameters (activities.service.WrittenEvents.args)."""
    await conn.execute(_written_by_id_sql(kind_of(conn)), project_id, *args, customer_id)


@lru_cache(maxsize=4)
def _written_by_id_sql(kind: str) -> str:
    return written_events_sql(kind, source="customer WHERE project_id = $1 AND id = $9", first=2)


async def get(db: DB, *, project_id: str, customer_id: str, event_id: str) -> Row | None:
    return await db.fetchrow(
        "SELECT created_at, id FROM customer_event"
        " WHERE project_id = $1 AND customer_id = $2 AND id = $3",
        project_id,
        customer_id,
        event_id,
    )


async def list_(
    db: DB,
    *,
    project_id: str,
    customer_id: str,
    where: Sequence[str],
    args: Sequence[Any],
    descending: bool,
    limit: int,
    offset: int = 0,
) -> list[Row]:
    """Events of one customer; `where` placeholders are numbered from $3."""
    direction = "DESC" if descending else "ASC"
    conditions = " AND ".join(["project_id = $1", "customer_id = $2", *where])
    return await db.fetch(
        f"SELECT {COLUMNS} FROM customer_event WHERE {conditions}"
        f" ORDER BY created_at {direction}, id {direction} LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        customer_id,
        *args,
    )


async def count(
    db: DB, *, project_id: str, customer_id: str, where: Sequence[str], args: Sequence[Any]
) -> int:
    conditions = " AND ".join(["project_id = $1", "customer_id = $2", *where])
    return await db.fetchval(
        f"SELECT COUNT(*) FROM customer_event WHERE {conditions}", project_id, customer_id, *args
    )


# --- permanent deletion (customers/erasure.py) ------------------------------------------------


async def erase_customers(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """Delete every event of these customers (their snapshots hold the person); the count."""
    return await erase.delete_customer_rows(
        conn, project_id=project_id, table="customer_event", customer_ids=customer_ids
    )


async def extras_mentioning(conn: Conn, *, project_id: str, needle: str) -> list[Row]:
    """Other customers' events whose `extra` payload contains the JSON text `needle`."""
    kind = kind_of(conn)
    return await conn.fetch(
        "SELECT id, extra FROM customer_event WHERE project_id = $1 AND extra IS NOT NULL"
        f" AND {dialect.text_contains(kind, 'CAST(extra AS TEXT)', '$2')}",
        project_id,
        needle,
    )


async def set_extra(conn: Conn, *, project_id: str, event_id: str, extra: str | None) -> None:
    await conn.execute(
        "UPDATE customer_event SET extra = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        event_id,
        extra,
    )
