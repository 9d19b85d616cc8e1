"""SQL for `idempotency_key`: one row per (project, key), the claim protocol's states.

Every function takes `project_id`, except `purge_expired`: a background batch over every
project (expired rows are nobody's data any more).
"""

from __future__ import annotations

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of


async def get(db: DB, *, project_id: str, key: str) -> Row | None:
    return await db.fetchrow(
        "SELECT request_hash, state, response_status, response_headers, response_body,"
        " created_at, expires_at FROM idempotency_key WHERE project_id = $1 AND key = $2",
        project_id,
        key,
    )


async def claim(
    conn: Conn, *, project_id: str, key: str, request_hash: str, now: int, lease_until: int
) -> bool:
    """Insert an IN_PROGRESS row; False when the key already has one (nothing written)."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_key (project_id, key, request_hash, state, created_at,"
        " expires_at) VALUES ($1, $2, $3, 'IN_PROGRESS', $4, $5)"
        " ON CONFLICT (project_id, key) DO NOTHING RETURNING key",
        project_id,
        key,
        request_hash,
        now,
        lease_until,
    )
    return inserted is not None


async def take_over(
    conn: Conn,
    *,
    project_id: str,
    key: str,
    request_hash: str,
    now: int,
    lease_until: int,
    old_expires_at: int,
) -> bool:
    """Claim an expired row again, only if no one else did since it was read (the old
    `expires_at` still matches); whether this caller won."""
    taken = await conn.fetchval(
        "UPDATE idempotency_key SET request_hash = $3, state = 'IN_PROGRESS',"
        " response_status = NULL, response_headers = NULL, response_body = NULL,"
        " created_at = $4, expires_at = $5"
        " WHERE project_id = $1 AND key = $2 AND expires_at = $6 RETURNING key",
        project_id,
        key,
        request_hash,
        now,
        lease_until,
        old_expires_at,
    )
    return taken is not None


async def store_response(
    conn: Conn,
    *,
    project_id: str,
    key: str,
    claimed_at: int,
    status: int,
    headers: str,
    body: str,
    expires_at: int,
) -> bool:
    """Mark the claim made at `claimed_at` DONE with its response; False if it was lost."""
    done = await conn.fetchval(
        "UPDATE idempotency_key SET state = 'DONE', response_status = $3,"
        " response_headers = $4, response_body = $5, expires_at = $6"
        " WHERE project_id = $1 AND key = $2 AND state = 'IN_PROGRESS' AND created_at = $7"
        " RETURNING key",
        project_id,
        key,
        status,
        headers,
        body,
        expires_at,
        claimed_at,
    )
    return done is not None


async def release(conn: Conn, *, project_id: str, key: str, claimed_at: int) -> None:
    """Drop the claim made at `claimed_at` (not stored: a retry runs again)."""
    await conn.execute(
        "DELETE FROM idempotency_key WHERE project_id = $1 AND key = $2"
        " AND state = 'IN_PROGRESS' AND created_at = $3",
        project_id,
        key,
        claimed_at,
    )


# house: cross-project — a background batch; expired rows are nobody's data any more
async def purge_expired(conn: Conn, *, now: int, batch: int) -> None:
    """Delete up to `batch` expired rows (stale responses and dead leases) of any project."""
    await conn.execute(
        "DELETE FROM idempotency_key WHERE (project_id, key) IN (SELECT project_id, key"
        f" FROM idempotency_key WHERE expires_at < $1 LIMIT {int(batch)})",
        now,
    )


async def erase_responses(conn: Conn, *, project_id: str, needle: str) -> int:
    """Permanent deletion: drop stored responses whose body contains `needle` (a JSON string
    literal such as `"cust_…"`); the count. A retry of such a request with its key then runs
    again instead of replaying the person's data."""
    condition = dialect.text_contains(kind_of(conn), "response_body", "$2")
    rows = await conn.fetch(
        "DELETE FROM idempotency_key WHERE project_id = $1 AND response_body IS NOT NULL"
        f" AND {condition} RETURNING key",
        project_id,
        needle,
    )
    return len(rows)
