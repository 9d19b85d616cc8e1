"""SQL for webhooks: configurations, signing secrets, the outbox and deliveries.

Every function takes `project_id`, except the dispatcher's claims over every project (marked).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from patrons.db import dialect, erase
from patrons.db.database import DB, Conn, Row, kind_of

WEBHOOK_COLUMNS = "id, target_url, events, active, created_at, updated_at"
DELIVERY_COLUMNS = (
    "project_id, id, webhook_id, event_id, event_type, customer_id, seq, body, status, attempts,"
    " next_at, lease_owner, lease_until, last_status, last_error, created_at, updated_at"
)
# Dispatchers listen here; a transaction that fills the outbox notifies it on commit.
CHANNEL = "patrons_webhooks"

# --- configurations -----------------------------------------------------------------------------


async def insert(
    conn: Conn,
    *,
    project_id: str,
    webhook_id: str,
    target_url: str,
    events: str,
    active: bool,
    now: int,
) -> Row:
    return await conn.fetchrow(
        "INSERT INTO webhook (project_id, id, target_url, events, active, created_at)"
        f" VALUES ($1, $2, $3, {dialect.json_param_sql(kind_of(conn), '$4')}, $5, $6)"
        f" RETURNING {WEBHOOK_COLUMNS}",
        project_id,
        webhook_id,
        target_url,
        events,
        active,
        now,
    )


async def get(db: DB, *, project_id: str, webhook_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE project_id = $1 AND id = $2",
        project_id,
        webhook_id,
    )


async def list_(db: DB, *, project_id: str) -> list[Row]:
    return await db.fetch(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE project_id = $1 ORDER BY created_at, id",
        project_id,
    )


async def update(
    conn: Conn,
    *,
    project_id: str,
    webhook_id: str,
    target_url: str,
    events: str,
    active: bool,
    now: int,
) -> Row | None:
    return await conn.fetchrow(
        "UPDATE webhook SET target_url = $3,"
        f" events = {dialect.json_param_sql(kind_of(conn), '$4')}, active = $5, updated_at = $6"
        f" WHERE project_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}",
        project_id,
        webhook_id,
        target_url,
        events,
        active,
        now,
    )


async def delete(conn: Conn, *, project_id: str, webhook_id: str) -> bool:
    """The webhook and its deliveries (their log goes with it); False when there was none."""
    await conn.execute(
        "DELETE FROM webhook_delivery WHERE project_id = $1 AND webhook_id = $2",
        project_id,
        webhook_id,
    )
    gone = await conn.fetchval(
        "DELETE FROM webhook WHERE project_id = $1 AND id = $2 RETURNING id", project_id, webhook_id
    )
    return gone is not None


# A switched-off webhook's pending deliveries wait with this `next_at` (9999-12-31), out of
# the dispatchers' sight, until it is switched on again.
PARKED = 253_402_300_799_000


async def disable(conn: Conn, *, project_id: str, webhook_id: str, now: int) -> None:
    await conn.execute(
        "UPDATE webhook SET active = FALSE, updated_at = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        webhook_id,
        now,
    )
    await park(conn, project_id=project_id, webhook_id=webhook_id)


async def park(conn: Conn, *, project_id: str, webhook_id: str) -> None:
    await conn.execute(
        f"UPDATE webhook_delivery SET next_at = {PARKED}"
        " WHERE project_id = $1 AND webhook_id = $2 AND status = 'PENDING'",
        project_id,
        webhook_id,
    )


async def unpark(conn: Conn, *, project_id: str, webhook_id: str, now: int) -> None:
    await conn.execute(
        "UPDATE webhook_delivery SET next_at = $3 WHERE project_id = $1 AND webhook_id = $2"
        f" AND status = 'PENDING' AND next_at >= {PARKED}",
        project_id,
        webhook_id,
        now,
    )


async def active_for(db: DB, *, project_id: str) -> list[Row]:
    return await db.fetch(
        "SELECT id, events FROM webhook WHERE project_id = $1 AND active ORDER BY id", project_id
    )


# --- signing secrets ----------------------------------------------------------------------------


async def get_secret(db: DB, *, project_id: str) -> str | None:
    return await db.fetchval("SELECT secret FROM webhook_secret WHERE project_id = $1", project_id)


async def put_secret(conn: Conn, *, project_id: str, secret: str, now: int, replace: bool) -> str:
    """Store `secret` (when the project has none, or `replace`); the project's secret after."""
    update = "secret = EXCLUDED.secret, created_at = EXCLUDED.created_at" if replace else ""
    conflict = f"DO UPDATE SET {update}" if replace else "DO NOTHING"
    await conn.execute(
        "INSERT INTO webhook_secret (project_id, secret, created_at) VALUES ($1, $2, $3)"
        f" ON CONFLICT (project_id) {conflict}",
        project_id,
        secret,
        now,
    )
    return await conn.fetchval(
        "SELECT secret FROM webhook_secret WHERE project_id = $1", project_id
    )


# --- the outbox, written by the event writers (activities) --------------------------------------

_HAS_ACTIVE = "EXISTS (SELECT 1 FROM webhook WHERE project_id = $1 AND active)"
# For a single-customer write on SQLite: the write's RETURNING carries it (no statement of
# its own), and the outbox row is inserted only when it held ($1 is the project there too).
HAS_ACTIVE_SQL = _HAS_ACTIVE


def _woken(kind: str, expression: str) -> str:
    """`expression`, evaluated per outbox row written, that also wakes the dispatchers when
    the transaction commits. Only where one statement writes several tables (PostgreSQL): a
    NOTIFY inside the statement costs no round trip, and none at all when no row is written.
    Elsewhere the caller notifies (SQLite: an in-process callback, free)."""
    if not dialect.data_modifying_ctes(kind):
        return expression
    return f"CASE WHEN pg_notify('{CHANNEL}', '') IS NULL THEN NULL ELSE {expression} END"


@lru_cache(maxsize=16)
# house: cross-project — a fragment of the caller's statement, whose $1 is the project
def outbox_step_sql(kind: str, *, source: str, event_id: str, created_at: str) -> str:
    """A further data-modifying CTE step `, o AS (INSERT INTO webhook_outbox …)` for a
    single-customer write statement: one outbox row for the customer row of CTE `source`,
    whose event has the id `event_id` (a placeholder), when the project ($1) has an active
    webhook. The EXISTS is one index probe of an empty range when it has none."""
    return (
        "INSERT INTO webhook_outbox (project_id, event_id, customer_id, created_at)"
        f" SELECT $1, CAST({event_id} AS TEXT), id,"
        f" {_woken(kind, f'CAST({created_at} AS BIGINT)')} FROM {source} WHERE {_HAS_ACTIVE}"
    )


@lru_cache(maxsize=4)
# house: cross-project — a fragment of the caller's statement, whose $1 is the project
def outbox_from_events_sql(kind: str, *, source: str) -> str:
    """`INSERT INTO webhook_outbox … SELECT … FROM <source>`, `source` being a CTE of
    `customer_event` rows just inserted (RETURNING id, customer_id, created_at)."""
    return (
        "INSERT INTO webhook_outbox (project_id, event_id, customer_id, created_at)"
        f" SELECT $1, id, customer_id, {_woken(kind, 'created_at')} FROM {source}"
        f" WHERE {_HAS_ACTIVE}"
    )


async def has_active(db: DB, *, project_id: str) -> bool:
    return bool(await db.fetchval(f"SELECT {_HAS_ACTIVE}", project_id))


async def add_to_outbox(conn: Conn, *, project_id: str, events: Sequence[Row]) -> None:
    """Outbox rows for events (id, customer_id, created_at) written by separate statements."""
    await conn.executemany(
        "INSERT INTO webhook_outbox (project_id, event_id, customer_id, created_at)"
        " VALUES ($1, $2, $3, $4)",
        [(project_id, e["id"], e["customer_id"], e["created_at"]) for e in events],
    )


# --- the dispatcher: fan-out, claims, results ---------------------------------------------------


# house: cross-project — an idle dispatcher's look (a read: no write lock taken for nothing)
async def work_waiting(db: DB, *, now: int) -> bool:
    """Whether the outbox holds a row or a pending delivery is due."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM webhook_outbox) OR EXISTS (SELECT 1 FROM"
            " webhook_delivery WHERE status = 'PENDING' AND next_at <= $1)",
            now,
        )
    )


# house: cross-project — a dispatcher serves every project; each row carries its own
async def outbox_batch(conn: Conn, *, limit: int) -> list[Row]:
    """The oldest outbox rows with their events, locked against other dispatchers."""
    return await conn.fetch(
        "SELECT o.seq, o.project_id, o.event_id, o.customer_id, e.type, e.snapshot, e.extra,"
        " e.event_source, e.created_at, e.group_id, e.id"
        " FROM webhook_outbox o JOIN customer_event e"
        " ON e.project_id = o.project_id AND e.id = o.event_id"
        f" ORDER BY o.seq LIMIT {int(limit)}{dialect.skip_locked_sql(kind_of(conn))}",
    )


# house: cross-project — removes fanned-out rows of any project, by their global seq
async def drop_outbox(conn: Conn, *, seqs: Sequence[int]) -> None:
    await conn.executemany("DELETE FROM webhook_outbox WHERE seq = $1", [(s,) for s in seqs])


async def insert_deliveries(conn: Conn, *, project_id: str, rows: Sequence[Sequence[Any]]) -> None:
    """Rows of (id, webhook_id, event_id, event_type, customer_id, seq, body, next_at)."""
    await conn.executemany(
        "INSERT INTO webhook_delivery (project_id, id, webhook_id, event_id, event_type,"
        " customer_id, seq, body, status, attempts, next_at, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', 0, $9, $9)",
        [(project_id, *row) for row in rows],
    )


# house: cross-project — a dispatcher serves every project; each row carries its own
async def due_deliveries(conn: Conn, *, now: int, limit: int) -> list[Row]:
    """Pending deliveries due now, unleased, of active webhooks, each the customer's earliest
    for its webhook (nor any earlier event of the customer still in the outbox): the order
    per customer. Locked against other dispatchers."""
    return await conn.fetch(
        "SELECT d.project_id, d.id FROM webhook_delivery d"
        " WHERE d.status = 'PENDING' AND d.next_at <= $1"
        " AND (d.lease_until IS NULL OR d.lease_until < $1)"
        " AND EXISTS (SELECT 1 FROM webhook w"
        "  WHERE w.project_id = d.project_id AND w.id = d.webhook_id AND w.active)"
        " AND NOT EXISTS (SELECT 1 FROM webhook_delivery p"
        "  WHERE p.project_id = d.project_id AND p.webhook_id = d.webhook_id"
        "  AND p.customer_id = d.customer_id AND p.seq < d.seq AND p.status = 'PENDING')"
        " AND NOT EXISTS (SELECT 1 FROM webhook_outbox o"
        "  WHERE o.project_id = d.project_id AND o.customer_id = d.customer_id AND o.seq < d.seq)"
        f" ORDER BY d.next_at, d.seq LIMIT {int(limit)}{dialect.skip_locked_sql(kind_of(conn))}",
        now,
    )


async def lease(
    conn: Conn, *, project_id: str, delivery_id: str, owner: str, until: int
) -> Row | None:
    """Take the lease; the delivery with its webhook's URL (None if the webhook went away)."""
    await conn.execute(
        "UPDATE webhook_delivery SET lease_owner = $3, lease_until = $4"
        " WHERE project_id = $1 AND id = $2",
        project_id,
        delivery_id,
        owner,
        until,
    )
    return await conn.fetchrow(
        "SELECT d.id, d.project_id, d.webhook_id, d.event_id, d.body, d.attempts, w.target_url,"
        " s.secret FROM webhook_delivery d"
        " JOIN webhook w ON w.project_id = d.project_id AND w.id = d.webhook_id"
        " LEFT JOIN webhook_secret s ON s.project_id = d.project_id"
        " WHERE d.project_id = $1 AND d.id = $2",
        project_id,
        delivery_id,
    )


async def record_attempt(
    conn: Conn,
    *,
    project_id: str,
    delivery_id: str,
    owner: str,
    status: str,
    next_at: int,
    http_status: int | None,
    error: str | None,
    now: int,
) -> Row | None:
    """One attempt's outcome, if the lease is still ours; the row after (attempts, webhook)."""
    return await conn.fetchrow(
        "UPDATE webhook_delivery SET attempts = attempts + 1, status = $4, next_at = $5,"
        " last_status = $6, last_error = $7, updated_at = $8, lease_owner = NULL,"
        " lease_until = NULL"
        " WHERE project_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'PENDING'"
        " RETURNING webhook_id, attempts",
        project_id,
        delivery_id,
        owner,
        status,
        next_at,
        http_status,
        error,
        now,
    )


# house: cross-project — housekeeping over every project's finished deliveries
async def prune(conn: Conn, *, before: int, limit: int) -> int:
    """Delete up to `limit` DELIVERED/FAILED deliveries finished before `before` (their
    `next_at` is when they finished); the number deleted."""
    rows = await conn.fetch(
        "DELETE FROM webhook_delivery WHERE (project_id, id) IN (SELECT project_id, id"
        " FROM webhook_delivery WHERE status IN ('DELIVERED', 'FAILED') AND next_at < $1"
        f" LIMIT {int(limit)}) RETURNING id",
        before,
    )
    return len(rows)


# --- the delivery log ---------------------------------------------------------------------------


async def deliveries(db: DB, *, project_id: str, webhook_id: str | None, limit: int) -> list[Row]:
    """Newest first; of one webhook or of all the project's."""
    where = "project_id = $1" + (" AND webhook_id = $2" if webhook_id else "")
    args: list[Any] = [project_id] + ([webhook_id] if webhook_id else [])
    return await db.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE {where}"
        f" ORDER BY seq DESC, id LIMIT {int(limit)}",
        *args,
    )


# --- permanent deletion (webhooks/erasure.py) ----------------------------------------------------


async def erase_customers(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """The person's outbox rows and deliveries (their bodies hold the customer); the count."""
    await erase.delete_customer_rows(
        conn, project_id=project_id, table="webhook_outbox", customer_ids=customer_ids
    )
    return await erase.delete_customer_rows(
        conn, project_id=project_id, table="webhook_delivery", customer_ids=customer_ids
    )


async def bodies_mentioning(conn: Conn, *, project_id: str, needle: str) -> list[Row]:
    kind = kind_of(conn)
    return await conn.fetch(
        "SELECT id, body FROM webhook_delivery WHERE project_id = $1"
        f" AND {dialect.text_contains(kind, 'body', '$2')}",
        project_id,
        needle,
    )


async def set_body(conn: Conn, *, project_id: str, delivery_id: str, body: str) -> None:
    await conn.execute(
        "UPDATE webhook_delivery SET body = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        delivery_id,
        body,
    )
