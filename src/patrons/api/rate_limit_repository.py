"""SQL of the shared rate-limit windows (api/rate_limits.py), one statement each."""

from __future__ import annotations

from patrons.db.database import Database

_HIT = (
    "INSERT INTO rate_limit_window (project_id, kind, window_start, n) VALUES ($1, $2, $3, 1)"
    " ON CONFLICT (project_id, kind, window_start)"
    " DO UPDATE SET n = rate_limit_window.n + 1 RETURNING n"
)
_PRUNE = "DELETE FROM rate_limit_window WHERE window_start < $1"


async def hit(db: Database, *, project_id: str, kind: str, window_start: int) -> int:
    """Add one to the project's window and return the count so far, in one round trip."""
    # fetch, not fetchval: on SQLite in autocommit a RETURNING statement holds its write
    # lock until it is stepped to the end.
    rows = await db.fetch(_HIT, project_id, kind, window_start)
    return int(rows[0][0])


# house: cross-project — every project's windows older than the previous one are dead
async def prune(db: Database, *, before: int) -> None:
    await db.fetch(_PRUNE, before)
