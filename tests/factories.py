"""Factory functions for tests: create resources through the real API."""

from __future__ import annotations

import secrets
from typing import Any

import httpx


def create_customer(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"source_id": "src-" + secrets.token_hex(6), "name": "Ada Lovelace"}
    body.update(overrides)
    response = api.post("/v1/customers", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def seed_customers(backend_url: str, project_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert customers straight into the database with chosen timestamps (for ordering tests).

    Each row needs `created_at` (epoch ms); `id` defaults to a fresh cust_ id.
    """
    import asyncio

    from patrons.core import ids
    from patrons.customers import repository
    from patrons.db import database

    async def run() -> None:
        db = await database.connect(backend_url, pg_pool_min=1, pg_pool_max=1)
        try:
            async with db.transaction() as conn:
                for row in rows:
                    values = {"id": ids.customer_id(), **row}
                    await repository.insert(conn, project_id=project_id, values=values)
                await repository.add_to_count(conn, project_id=project_id, delta=len(rows))
        finally:
            await db.close()

    asyncio.run(run())


def wait_done(api: httpx.Client, action_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll an async action until it is DONE or FAILED."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/async-actions/{action_id}").json()
        if body["status"] in ("DONE", "FAILED"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"async action still {body['status']}: {body}")
        time.sleep(0.05)


def upload_csv(api: httpx.Client, text: str | bytes) -> httpx.Response:
    data = text.encode() if isinstance(text, str) else text
    return api.post("/v1/customers/importCSV", files={"file": ("customers.csv", data, "text/csv")})
