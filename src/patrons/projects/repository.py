"""SQL for projects and their API keys."""

from __future__ import annotations

from patrons.db.database import Conn, Database, Row


# house: cross-project — the App key names its project; this lookup finds it
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


# house: cross-project — projects themselves, for the CLI
async def get_default_project(db: Database | Conn) -> Row | None:
    return await db.fetchrow("SELECT * FROM project WHERE is_default ORDER BY created_at LIMIT 1")


# house: cross-project — projects themselves, for the CLI
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


# house: cross-project — an App key is global by its id (CLI key rotation)
async def set_token_hash(conn: Conn, *, app_id: str, token_hash: str, rotated_at: int) -> int:
    """The number of keys changed (0 or 1). Counted from RETURNING: `execute` gives a row count
    on SQLite but a status string ("UPDATE 0", always truthy) on asyncpg."""
    rows = await conn.fetch(
        "UPDATE api_key SET token_hash = $2, rotated_at = $3 WHERE app_id = $1 RETURNING app_id",
        app_id,
        token_hash,
        rotated_at,
    )
    return len(rows)


async def list_keys(db: Database | Conn, *, project_id: str | None) -> list[Row]:
    if project_id is None:
        return await db.fetch("SELECT * FROM api_key ORDER BY created_at")
    return await db.fetch(
        "SELECT * FROM api_key WHERE project_id = $1 ORDER BY created_at", project_id
    )


# house: cross-project — an App key is global by its id (CLI)
async def delete_key(conn: Conn, *, app_id: str) -> int:
    """The number of keys deleted (0 or 1), counted from RETURNING as in set_token_hash."""
    rows = await conn.fetch("DELETE FROM api_key WHERE app_id = $1 RETURNING app_id", app_id)
    return len(rows)
