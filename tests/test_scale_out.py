"""Scale-out on PostgreSQL: two API processes and two `patrons worker` processes under a mixed
load of creates, updates, bulk jobs and CSV imports over overlapping customers.

What must hold: every total exact, exactly one event per change, no job chunk applied twice
(the workers' chunk logs tile each job's rows without overlap), and no deadlock in any log.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from patrons.db import database
from tests.conftest import Backend, Server, make_backend, new_project, start_server
from tests.factories import upload_csv, wait_done

pytestmark = pytest.mark.slow

CHUNK = 200
BULK_IDS = [f"b-{i}" for i in range(400)]
IMPORT_IDS = [f"i-{i}" for i in range(3000)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Backend, list[Server], list[Path]]]:
    backend, drop = make_backend("postgresql", tmp_path)
    stops: list[Callable[[], None]] = []
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        servers = []
        for _ in range(2):
            server, stop = start_server(backend, tmp_path, PATRONS_EMBEDDED_WORKER="0")
            servers.append(server)
            stops.append(stop)
        for n in range(2):
            log = tmp_path / f"worker-{n}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "patrons", "worker"],
                    env={
                        **os.environ,
                        "PATRONS_DATABASE_URL": backend.url,
                        "PATRONS_WORKER_CHUNK_ROWS": str(CHUNK),
                        # Short, so a slow chunk can lose its lease to the other worker: the
                        # lease check must then drop it, not apply it twice.
                        "PATRONS_WORKER_LEASE_MS": "2000",
                    },
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            workers.append((proc, log))
        yield backend, servers, [log for _, log in workers] + [s.log for s in servers]
    finally:
        for proc, _ in workers:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for stop in stops:
            stop()
        drop()


def _query(url: str, sql: str, *args: object) -> list[tuple]:
    async def run() -> list[tuple]:
        db = await database.connect(url, pg_pool_min=1, pg_pool_max=1)
        try:
            return [tuple(r) for r in await db.fetch(sql, *args)]
        finally:
            await db.close()

    return asyncio.run(run())


def test_two_apis_and_two_workers_under_mixed_load(cluster) -> None:
    backend, servers, logs = cluster
    tenant = new_project(backend)
    clients = [
        httpx.Client(base_url=s.base_url, headers=tenant.headers, timeout=60) for s in servers
    ]
    changes: Counter[str] = Counter()  # source_id → changes made to it (each is one event)
    lock = threading.Lock()
    rng = random.Random(14)

    def count(source_ids: list[str]) -> None:
        with lock:
            changes.update(source_ids)

    def creates_and_updates(t: int) -> None:
        api = clients[t % 2]
        for i in range(120):
            source_id = f"c-{t}-{i}"
            created = api.post("/v1/customers", json={"source_id": source_id, "name": "new"})
            assert created.status_code == 200, created.text
            updated = clients[(t + i) % 2].put(
                f"/v1/customers/{created.json()['id']}", json={"name": f"renamed {i}"}
            )
            assert updated.status_code == 200, updated.text
            count([source_id, source_id])

    def bulk_jobs(t: int) -> list[str]:
        """Bulk updates over the same customers, each job in its own order."""
        jobs = []
        for k in range(3):
            order = BULK_IDS[:]
            random.Random(t * 10 + k).shuffle(order)
            body = [{"source_id": s, "name": f"job {t}.{k}", "metadata": {"k": k}} for s in order]
            response = clients[k % 2].post("/v1/customers/bulk/async", json=body)
            assert response.status_code == 202, response.text
            jobs.append(response.json()["async_action_id"])
            count(order)
        return jobs

    def imports(t: int) -> list[str]:
        order = IMPORT_IDS if t == 0 else IMPORT_IDS[::-1]
        text = "Source_id,Name\n" + "".join(f"{s},import {t}\n" for s in order)
        response = upload_csv(clients[t], text)
        assert response.status_code == 202, response.text
        count(order)
        return [response.json()["async_action_id"]]

    def upserts() -> None:
        """Single upserts (POST with a known source_id) while the bulk jobs run."""
        picks = [rng.choice(BULK_IDS) for _ in range(100)]
        for n, source_id in enumerate(picks):
            body = {"source_id": source_id, "name": f"upsert {n}"}
            assert clients[n % 2].post("/v1/customers", json=body).status_code == 200
            count([source_id])

    with ThreadPoolExecutor(max_workers=7) as pool:
        plain = [pool.submit(creates_and_updates, t) for t in range(2)]
        job_lists = [pool.submit(bulk_jobs, t) for t in range(2)]
        job_lists += [pool.submit(imports, t) for t in range(2)]
        plain.append(pool.submit(upserts))
        jobs = [job for future in job_lists for job in future.result()]
        for future in plain:
            future.result()

    expected_rows = {}
    for action_id in jobs:
        done = wait_done(clients[0], action_id, timeout=240)
        assert done["status"] == "DONE", done
        assert done["result"]["failed_count"] == 0, done["result"]
        expected_rows[action_id] = done["result"]["done_count"]

    # Totals exact: through the API (the counter) and in the table.
    total = 2 * 120 + len(BULK_IDS) + len(IMPORT_IDS)
    for api in clients:
        assert api.get("/v1/customers").json()["total"] == total
    stored = _query(backend.url, "SELECT COUNT(*) FROM customer WHERE project_id = $1", tenant.id)
    assert stored == [(total,)]

    # One event per change: per customer, exactly one created and the rest updated.
    events = _query(
        backend.url,
        "SELECT c.source_id, e.type, COUNT(*) FROM customer_event e"
        " JOIN customer c ON c.project_id = e.project_id AND c.id = e.customer_id"
        " WHERE e.project_id = $1 GROUP BY c.source_id, e.type",
        tenant.id,
    )
    created = {s: n for s, kind, n in events if kind == "customer.created"}
    updated = Counter({s: n for s, kind, n in events if kind == "customer.updated"})
    assert set(created) == set(changes)
    assert set(created.values()) == {1}
    wrong = {s: (1 + updated[s], n) for s, n in changes.items() if 1 + updated[s] != n}
    assert not wrong, f"events vs changes differ for {len(wrong)} customers: {list(wrong)[:5]}"

    # No chunk applied twice: each job's committed chunks tile its rows exactly once.
    texts = [log.read_text(errors="replace") for log in logs]
    for action_id, rows in expected_rows.items():
        ranges = sorted(
            (int(a), int(b))
            for text in texts
            for a, b in re.findall(rf"job {action_id} \S+: rows (\d+)\.\.(\d+)", text)
        )
        assert ranges, action_id
        assert (ranges[0][0], ranges[-1][1]) == (1, rows), (action_id, ranges)
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert start == end + 1, f"job {action_id}: chunks overlap or leave a gap"
    assert all(re.search(r": rows \d+\.\.\d+", text) for text in texts[:2]), "a worker was idle"
    for log, text in zip(logs, texts, strict=True):
        assert "deadlock" not in text.lower(), f"{log.name}:\n{text[-3000:]}"
    for api in clients:
        api.close()
