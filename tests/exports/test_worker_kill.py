"""An export survives `kill -9` of its worker: the next worker resumes at the last committed
chunk and the file holds every customer exactly once (separate `patrons worker` processes,
the server's embedded worker off; both databases)."""

from __future__ import annotations

import csv
import io
import signal
import time

import httpx
import pytest

from tests.conftest import Project, Server
from tests.factories import db_fetch, seed_customers
from tests.test_worker import Workers, client, quiet, tenant, workers  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
ROWS = 30_000


def exported_rows(server: Server, project: Project, export_id: str) -> int:
    found = db_fetch(
        server.backend.url,
        "SELECT row_count FROM export WHERE project_id = $1 AND id = $2",
        project.id,
        export_id,
    )
    return int(found[0]["row_count"])


def wait_rows(server: Server, project: Project, export_id: str, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = exported_rows(server, project, export_id)
        if done >= at_least:
            return done
        time.sleep(0.01)
    raise AssertionError("no progress")


def test_kill_9_mid_export_resumes_without_loss_or_duplicates(
    quiet: Server,  # noqa: F811
    tenant: Project,  # noqa: F811
    client: httpx.Client,  # noqa: F811
    workers: Workers,  # noqa: F811
) -> None:
    base = 1_700_000_000_000
    seed_customers(
        quiet.backend.url,
        tenant.id,
        [{"source_id": f"k{i:05d}", "created_at": base + i} for i in range(ROWS)],
    )
    created = client.post(
        "/v1/exports", json={"exported_object": "customer", "parameters": {"fields": ["id"]}}
    )
    assert created.status_code == 200, created.text
    export_id = created.json()["id"]

    for at_least in (ROWS // 5, ROWS // 2):
        victim = workers.start()
        seen = wait_rows(quiet, tenant, export_id, at_least)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert seen < ROWS, "the export finished before the kill; make it bigger"
    workers.start()
    deadline = time.monotonic() + 120
    while (body := client.get(f"/v1/exports/{export_id}").json())["status"] != "DONE":
        assert body["status"] in ("SCHEDULED", "IN_PROGRESS"), body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)

    response = httpx.get(body["result"]["url"], timeout=60)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    ids = [r[0] for r in rows[1:]]
    assert rows[0] == ["id"]
    assert len(ids) == ROWS
    seeded = db_fetch(quiet.backend.url, "SELECT id FROM customer WHERE project_id = $1", tenant.id)
    assert sorted(ids) == sorted(r["id"] for r in seeded)
