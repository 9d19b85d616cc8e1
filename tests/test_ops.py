"""Operations: /health, /ready, /metrics and the access log."""

from __future__ import annotations

import asyncio
import time

from patrons.db import database
from tests.factories import create_customer


def test_health_needs_no_auth(anon) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_migrated(anon) -> None:
    assert anon.get("/ready").json() == {"status": "ready"}


def test_not_ready_when_schema_is_behind(anon, server) -> None:
    async def set_version(version: str) -> str:
        db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            async with db.transaction() as conn:
                old = await conn.fetchval("SELECT version_num FROM alembic_version")
                await conn.execute("UPDATE alembic_version SET version_num = $1", version)
                return old
        finally:
            await db.close()

    head = asyncio.run(set_version("0001"))
    try:
        response = anon.get("/ready")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
    finally:
        asyncio.run(set_version(head))
    assert anon.get("/ready").status_code == 200


def test_metrics_by_route_template_without_personal_data(api, anon) -> None:
    create_customer(api, source_id="ada@example.org")
    api.get("/v1/customers/ada%40example.org")
    api.get("/v1/customers/nobody%40example.org")
    text = anon.get("/metrics").text
    assert 'route="/v1/customers/{customer_id}",status="200"' in text
    assert 'route="/v1/customers/{customer_id}",status="404"' in text
    assert "patrons_http_request_duration_seconds_bucket" in text
    assert 'patrons_async_actions{status="ENQUEUED"}' in text
    assert "example.org" not in text


def test_access_log_has_one_json_line_per_request_and_no_secrets(api, server, project) -> None:
    create_customer(api, source_id="grace@example.org", name="Grace Hopper")
    response = api.get("/v1/customers/grace%40example.org")
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while request_id not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in server.log.read_text().splitlines() if request_id in line]
    assert len(lines) == 1
    import json

    entry = json.loads(lines[0])
    assert entry["method"] == "GET"
    assert entry["route"] == "/v1/customers/{customer_id}"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    log = server.log.read_text()
    assert project.app_token not in log
    assert "grace@example.org" not in log
    assert "Grace Hopper" not in log
