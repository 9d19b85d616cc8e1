"""SQL for async actions, their stored payload pieces and per-row failures.

Every function takes `project_id`, except `claim_next`: a worker serves every project, and
from the claimed row on everything is scoped by that row's project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of

ACTIVE = ("ENQUEUED", "IN_PROGRESS")
COLUMNS = (
    "project_id, id, type, status, operation_status, progress, request_id, payload_bytes,"
    " bytes_done, rows_done, done_count, failed_count, created_count, lease_owner,"
    " lease_until, attempts, result, created_at, updated_at, started_at, finished_at"
)


async def insert(
    conn: Conn,
    *,
    project_id: str,
    action_id: str,
    type_: str,
    request_id: str | None,
    payload_bytes: int,
    created_at: int,
) -> None:
    await conn.execute(
        "INSERT INTO async_action (project_id, id, type, status, request_id, payload_bytes,"
        " created_at) VALUES ($1, $2, $3, 'ENQUEUED', $4, $5, $6)",
        project_id,
        action_id,
        type_,
        request_id,
        payload_bytes,
        created_at,
    )


async def insert_payload(
    conn: Conn, *, project_id: str, action_id: str, pieces: Iterable[tuple[int, bytes]]
) -> None:
    await conn.executemany(
        "INSERT INTO async_action_payload (project_id, action_id, seq, data)"
        " VALUES ($1, $2, $3, $4)",
        [(project_id, action_id, seq, data) for seq, data in pieces],
    )


async def payload_piece(db: DB, *, project_id: str, action_id: str, seq: int) -> bytes | None:
    data = await db.fetchval(
        "SELECT data FROM async_action_payload"
        " WHERE project_id = $1 AND action_id = $2 AND seq = $3",
        project_id,
        action_id,
        seq,
    )
    return None if data is None else bytes(data)


async def get(db: DB, *, project_id: str, action_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM async_action WHERE project_id = $1 AND id = $2",
        project_id,
        action_id,
    )


async def list_(db: DB, *, project_id: str, limit: int, end_date: int | None) -> list[Row]:
    if end_date is None:
        return await db.fetch(
            f"SELECT {COLUMNS} FROM async_action WHERE project_id = $1"
            f" ORDER BY created_at DESC, id DESC LIMIT {int(limit)}",
            project_id,
        )
    return await db.fetch(
        f"SELECT {COLUMNS} FROM async_action WHERE project_id = $1 AND created_at < $2"
        f" ORDER BY created_at DESC, id DESC LIMIT {int(limit)}",
        project_id,
        end_date,
    )


# house: cross-project — a worker serves every project; the claimed row scopes the rest
async def candidates(conn: Conn, *, now: int) -> Row | None:
    """The active job touched longest ago whose lease is free or expired, locked against
    concurrent claims (skipped by them on PostgreSQL; SQLite's claim is exclusive anyway).

    Ordering by last touch gives round-robin over jobs: a worker takes one chunk per claim, so
    a small job queued behind a huge import waits for one chunk, not for the whole import.
    """
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM async_action"
        " WHERE status IN ('ENQUEUED', 'IN_PROGRESS')"
        " AND (lease_until IS NULL OR lease_until < $1)"
        " ORDER BY COALESCE(updated_at, created_at), created_at LIMIT 1"
        f"{dialect.skip_locked_sql(kind_of(conn))}",
        now,
    )


async def take_lease(
    conn: Conn, *, project_id: str, action_id: str, owner: str, now: int, until: int
) -> Row:
    return await conn.fetchrow(
        "UPDATE async_action SET lease_owner = $3, lease_until = $5, status = 'IN_PROGRESS',"
        " attempts = attempts + 1, started_at = COALESCE(started_at, $4)"
        f" WHERE project_id = $1 AND id = $2 RETURNING {COLUMNS}",
        project_id,
        action_id,
        owner,
        now,
        until,
    )


async def hold_lease(conn: Conn, *, project_id: str, action_id: str, owner: str) -> bool:
    """Inside a chunk's transaction: still ours? (On PostgreSQL this also locks the row.)"""
    got = await conn.fetchval(
        "UPDATE async_action SET lease_owner = lease_owner"
        " WHERE project_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'IN_PROGRESS'"
        " RETURNING id",
        project_id,
        action_id,
        owner,
    )
    return got is not None


async def checkpoint(
    conn: Conn,
    *,
    project_id: str,
    action_id: str,
    bytes_done: int,
    rows_done: int,
    done: int,
    failed: int,
    created: int,
    progress: int,
    now: int,
    keep_until: int | None = None,
    follows: tuple[str, int] | None = None,
) -> bool:
    """Record a committed chunk and free the lease, so the next claim can pick any job — or,
    with `keep_until`, keep it until then (the worker writes the job's next chunk already).

    `follows`: (owner, bytes_done) for a chunk written while the one before it was still being
    committed (worker/runner.py, overlapped chunks), which did not lock the job first: only if
    that one committed and the lease is still the owner's is this one recorded — this UPDATE
    waits for the one before to end, then sees what it left. False when not recorded.
    """
    sql = (
        "UPDATE async_action SET bytes_done = $3, rows_done = $4, done_count = done_count + $5,"
        " failed_count = failed_count + $6, progress = $7, updated_at = $8, attempts = 0,"
        " created_count = created_count + $9,"
        " lease_owner = CASE WHEN CAST($10 AS BIGINT) IS NULL THEN NULL ELSE lease_owner END,"
        " lease_until = $10"
        " WHERE project_id = $1 AND id = $2"
    )
    args: list[object] = [
        project_id, action_id, bytes_done, rows_done, done, failed, progress, now, created,
        keep_until,
    ]  # fmt: skip
    if follows is not None:
        sql += " AND lease_owner = $11 AND bytes_done = $12 AND status = 'IN_PROGRESS'"
        args += follows
    return await conn.fetchval(sql + " RETURNING 1", *args) is not None


# house: cross-project — a worker serves every project
async def others_waiting(conn: DB, *, action_id: str, now: int) -> bool:
    """Whether an active job other than `action_id` could be claimed now (see `candidates`)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM async_action"
            " WHERE status IN ('ENQUEUED', 'IN_PROGRESS')"
            " AND (lease_until IS NULL OR lease_until < $1) AND id <> $2)",
            now,
            action_id,
        )
    )


async def finish(
    conn: Conn,
    *,
    project_id: str,
    action_id: str,
    status: str,
    operation_status: str | None,
    result: str,
    now: int,
) -> None:
    await conn.execute(
        "UPDATE async_action SET status = $3, operation_status = $4, result = $5, progress = 100,"
        " updated_at = $6, finished_at = $6, lease_owner = NULL, lease_until = NULL"
        " WHERE project_id = $1 AND id = $2",
        project_id,
        action_id,
        status,
        operation_status,
        result,
        now,
    )


async def delete_payload(conn: Conn, *, project_id: str, action_id: str) -> None:
    await conn.execute(
        "DELETE FROM async_action_payload WHERE project_id = $1 AND action_id = $2",
        project_id,
        action_id,
    )


async def delete_payload_pieces(conn: Conn, *, project_id: str, action_id: str, limit: int) -> int:
    """Delete up to `limit` of the job's stored payload pieces (the first ones); the count."""
    rows = await conn.fetch(
        "DELETE FROM async_action_payload WHERE project_id = $1 AND action_id = $2 AND seq IN"
        " (SELECT seq FROM async_action_payload WHERE project_id = $1 AND action_id = $2"
        f" ORDER BY seq LIMIT {int(limit)}) RETURNING seq",
        project_id,
        action_id,
    )
    return len(rows)


async def insert_failures(
    conn: Conn, *, project_id: str, action_id: str, failures: Sequence[tuple[int, Any, str]]
) -> None:
    await conn.executemany(
        "INSERT INTO async_action_failure (project_id, action_id, row_no, source_id, reason)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(project_id, action_id, row, source_id, reason) for row, source_id, reason in failures],
    )


async def failures(db: DB, *, project_id: str, action_id: str, limit: int) -> list[Row]:
    return await db.fetch(
        "SELECT row_no, source_id, reason FROM async_action_failure"
        f" WHERE project_id = $1 AND action_id = $2 ORDER BY row_no LIMIT {int(limit)}",
        project_id,
        action_id,
    )


# house: cross-project — operators' health view over every project
async def active_count(db: DB) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM async_action WHERE status IN ('ENQUEUED', 'IN_PROGRESS')"
    )


# house: cross-project — operators' metrics over every project
async def counts_by_status(db: DB) -> dict[str, int]:
    """Jobs per status over every project: an operator's metric, not a tenant's view."""
    rows = await db.fetch("SELECT status, COUNT(*) AS n FROM async_action GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


# --- permanent deletion (customers/erasure.py) ------------------------------------------------


async def active_with_payload(db: DB, *, project_id: str) -> list[Row]:
    """The project's unfinished jobs that still hold a stored payload."""
    return await db.fetch(
        "SELECT a.id, a.payload_bytes FROM async_action a"
        " WHERE a.project_id = $1 AND a.status IN ('ENQUEUED', 'IN_PROGRESS')"
        " AND EXISTS (SELECT 1 FROM async_action_payload p"
        " WHERE p.project_id = a.project_id AND p.action_id = a.id)"
        " ORDER BY a.created_at, a.id",
        project_id,
    )


async def drop_finished_payloads(conn: Conn, *, project_id: str) -> int:
    """Delete payload pieces left behind by finished jobs (FAILED keeps them); the count.

    Nothing reads a finished job's input again, so they go whole rather than being searched.
    """
    rows = await conn.fetch(
        "DELETE FROM async_action_payload WHERE project_id = $1 AND action_id IN"
        " (SELECT id FROM async_action WHERE project_id = $1 AND status IN ('DONE', 'FAILED'))"
        " RETURNING seq",
        project_id,
    )
    return len(rows)


async def erase_failures(conn: Conn, *, project_id: str, source_id: str) -> int:
    """Delete the per-row failures reported under this source_id; the count."""
    rows = await conn.fetch(
        "DELETE FROM async_action_failure WHERE project_id = $1 AND source_id = $2"
        " RETURNING row_no",
        project_id,
        source_id,
    )
    return len(rows)


async def results_mentioning(conn: Conn, *, project_id: str, needle: str) -> list[Row]:
    """Jobs whose stored `result` contains the JSON text `needle`."""
    condition = dialect.text_contains(kind_of(conn), "CAST(result AS TEXT)", "$2")
    return await conn.fetch(
        "SELECT id, result FROM async_action WHERE project_id = $1 AND result IS NOT NULL"
        f" AND {condition}",
        project_id,
        needle,
    )


async def set_result(conn: Conn, *, project_id: str, action_id: str, result: str) -> None:
    await conn.execute(
        "UPDATE async_action SET result = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        action_id,
        result,
    )


async def failures_after(
    db: DB, *, project_id: str, action_id: str, after_row: int, limit: int
) -> list[Row]:
    """The next `limit` failed rows after row number `after_row` (keyset, for reports)."""
    return await db.fetch(
        "SELECT row_no, source_id, reason FROM async_action_failure"
        " WHERE project_id = $1 AND action_id = $2 AND row_no > $3"
        f" ORDER BY row_no LIMIT {int(limit)}",
        project_id,
        action_id,
        after_row,
    )
