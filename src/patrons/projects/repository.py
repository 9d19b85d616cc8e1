"""SQL for projects and their API keys."""

from __future__ import annotations

from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of


async def get_key(db: Database | Conn, *, app_id: str) -> Row | None:
    return await db.fetchrow(
        "SELECT app_id, project_id, token_hash FROM api_key WHERE app_id = $1", app_id
    )


async def insert_project(
    conn: Conn, *, project_id: str, name: str, is_default: bool, created_at: int
) -> None:
    await conn.execute(
        "INSERT INTO project (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)",
        project_id,
        name,
        is_default,
        created_at,
    )


async def get_project(db: Database | Conn, *, project_id: str) -> Row | None:
    return await db.fetchrow("SELECT * FROM project WHERE id = $1", project_id)


async def get_default_project(db: Database | Conn) -> Row | None:
    return await db.fetchrow("SELECT * FROM project WHERE is_default ORDER BY created_at LIMIT 1")


async def list_projects(db: Database | Conn) -> list[Row]:
    return await db.fetch(
        "SELECT p.id, p.name, p.is_default, p.created_at,"
        " (SELECT COALESCE(SUM(n), 0) FROM customer_counter c WHERE c.project_id = p.id)"
        " AS customer_count FROM project p ORDER BY p.created_at"
    )


async def insert_key(
    conn: Conn, *, project_id: str, app_id: str, name: str, token_hash: str, created_at: int
) -> None:
    await conn.execute(
        "INSERT INTO api_key (app_id, project_id, name, token_hash, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        app_id,
        project_id,
        name,
        token_hash,
        created_at,
    )


async def set_token_hash(conn: Conn, *, app_id: str, token_hash: str, rotated_at: int) -> int:
    return await conn.execute(
        "UPDATE api_key SET token_hash = $2, rotated_at = $3 WHERE app_id = $1",
        app_id,
        token_hash,
        rotated_at,
    )


async def list_keys(db: Database | Conn, *, project_id: str | None) -> list[Row]:
    if project_id is None:
        return await db.fetch("SELECT * FROM api_key ORDER BY created_at")
    return await db.fetch(
        "SELECT * FROM api_key WHERE project_id = $1 ORDER BY created_at", project_id
    )


async def delete_key(conn: Conn, *, app_id: str) -> int:
    return await conn.execute("DELETE FROM api_key WHERE app_id = $1", app_id)


async def erase_idempotent_responses(conn: Conn, *, project_id: str, needle: str) -> int:
    """Permanent deletion: drop stored idempotent responses whose body contains `needle`
    (a JSON string literal such as `"cust_…"`); the count. A retry of such a request with
    its key then runs again instead of replaying the person's data."""
    condition = dialect.text_contains(kind_of(conn), "response_body", "$2")
    rows = await conn.fetch(
        "DELETE FROM idempotency_key WHERE project_id = $1 AND response_body IS NOT NULL"
        f" AND {condition} RETURNING key",
        project_id,
        needle,
    )
    return len(rows)
