"""/health (process alive), /ready (database reachable and migrated), /metrics (Prometheus).

No authentication: these are for load balancers and monitoring, and reveal no tenant data.
"""

from __future__ import annotations

from litestar import Request, Response, get

from patrons.async_actions import repository as async_actions
from patrons.db import migrate
from patrons.db.database import Database, pool_of
from patrons.observability import render

_HEAD = migrate.current_head()


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready")
async def ready(request: Request) -> Response[dict[str, str]]:
    db: Database = request.app.state.db
    try:
        version = await migrate.current_revision(db)
    except Exception as exc:
        return Response({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    if version != _HEAD:
        return Response(
            {"status": "unavailable", "reason": f"schema at {version}, expected {_HEAD}"},
            status_code=503,
        )
    return Response({"status": "ready"})


@get("/metrics")
async def metrics(request: Request) -> Response[bytes]:
    db: Database = request.app.state.db
    queue = await async_actions.counts_by_status(db)
    return Response(
        render(pool_of(db), queue), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


HANDLERS = [health, ready, metrics]
