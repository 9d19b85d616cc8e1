"""SQL for OAuth access tokens. Rows are keyed by the sha256 of the token, never the token."""

from __future__ import annotations

from patrons.db.database import Conn, Database, Row


async def insert(
    conn: Conn,
    *,
    project_id: str,
    token_hash: str,
    client_id: str,
    scope: str,
    created_at: int,
    expires_at: int,
) -> None:
    await conn.execute(
        "INSERT INTO oauth_token (token_hash, project_id, client_id, scope, created_at,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        token_hash,
        project_id,
        client_id,
        scope,
        created_at,
        expires_at,
    )


async def get_active(
    db: Database | Conn, *, project_id: str, token_hash: str, now: int
) -> Row | None:
    """The project's token if it is neither expired nor revoked."""
    return await db.fetchrow(
        "SELECT client_id, scope, expires_at FROM oauth_token"
        " WHERE token_hash = $1 AND project_id = $2 AND revoked_at IS NULL AND expires_at > $3",
        token_hash,
        project_id,
        now,
    )


# house: cross-project — the token names its project; this lookup finds it
async def get_for_bearer(db: Database | Conn, *, token_hash: str, now: int) -> Row | None:
    """An active token whose issuing key still exists: deleting a key ends its tokens at once
    (rotating it does not, as in Voucherify: the app id stays)."""
    return await db.fetchrow(
        "SELECT t.project_id, t.client_id, t.scope FROM oauth_token t"
        " JOIN api_key k ON k.app_id = t.client_id AND k.project_id = t.project_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
        token_hash,
        now,
    )


async def revoke(conn: Conn, *, project_id: str, token_hash: str, now: int) -> bool:
    """Marks an active token revoked; False when there was none to revoke."""
    row = await conn.fetchrow(
        "UPDATE oauth_token SET revoked_at = $3"
        " WHERE token_hash = $1 AND project_id = $2 AND revoked_at IS NULL AND expires_at > $3"
        " RETURNING token_hash",
        token_hash,
        project_id,
        now,
    )
    return row is not None


async def prune(conn: Conn, *, project_id: str, before: int) -> None:
    """Drops the project's tokens that expired before `before` (revoked ones included)."""
    await conn.execute(
        "DELETE FROM oauth_token WHERE project_id = $1 AND expires_at < $2", project_id, before
    )
