"""Workers as separate processes: kill -9 and resume, two workers at once, fair claiming.

These use their own database and a server with the embedded worker switched off, so only the
`patrons worker` processes started here run jobs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from patrons.db import database
from tests.conftest import Backend, Project, Server, new_project, server_of_its_own
from tests.factories import upload_csv, wait_done

# Every test here starts its own server and worker processes and imports 12k-40k rows.
pytestmark = pytest.mark.slow

CHUNK = 200


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def quiet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with server_of_its_own(
        request.param,
        tmp_path_factory.mktemp("quiet-" + request.param),
        PATRONS_EMBEDDED_WORKER="0",
    ) as running:
        yield running


@pytest.fixture
def tenant(quiet: Server) -> Project:
    return new_project(quiet.backend)


@pytest.fixture
def client(quiet: Server, tenant: Project) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=quiet.base_url, headers=tenant.headers, timeout=30) as c:
        yield c


class Workers:
    def __init__(self, backend: Backend, log_dir: Path) -> None:
        self.backend = backend
        self.log_dir = log_dir
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        env = {
            **os.environ,
            "PATRONS_DATABASE_URL": self.backend.url,
            "PATRONS_WORKER_CHUNK_ROWS": str(CHUNK),
            "PATRONS_WORKER_LEASE_MS": "1500",
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "patrons", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append((proc, log))
        return proc

    def logs(self) -> list[str]:
        return [log.read_text() for _, log in self.procs]

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def workers(quiet: Server, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(quiet.backend, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def big_csv(rows: int) -> tuple[str, None]:
    """Every 10th row has no source_id: replaying such a row would duplicate a customer."""
    lines = ["Source_id,Name,Email"]
    for i in range(rows):
        source_id = "" if i % 10 == 0 else f"s{i}"
        lines.append(f"{source_id},Name {i},e{i}@example.org")
    return "\n".join(lines) + "\n", None


def stored(backend: Backend, project_id: str) -> list[tuple[str | None, str]]:
    async def run() -> list[tuple[str | None, str]]:
        db = await database.connect(backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            rows = await db.fetch(
                "SELECT source_id, name FROM customer WHERE project_id = $1", project_id
            )
            return [(r["source_id"], r["name"]) for r in rows]
        finally:
            await db.close()

    return asyncio.run(run())


def _key(row: tuple[str | None, str]) -> tuple[str, str]:
    return (row[0] or "", row[1])


def expected_rows(rows: int) -> list[tuple[str | None, str]]:
    made = [((None if i % 10 == 0 else f"s{i}"), f"Name {i}") for i in range(rows)]
    return sorted(made, key=_key)


def wait_progress(client: httpx.Client, action_id: str, at_least: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/v1/async-actions/{action_id}").json()
        if body["progress"] >= at_least or body["status"] == "DONE":
            return body
        time.sleep(0.01)
    raise AssertionError("no progress")


def test_kill_9_mid_job_resumes_without_loss_or_duplicates(quiet, tenant, client, workers) -> None:
    rows = 40_000
    text, _ = big_csv(rows)
    action_id = upload_csv(client, text).json()["async_action_id"]
    for at_least in (15, 45):
        victim = workers.start()
        state = wait_progress(client, action_id, at_least)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert state["status"] == "IN_PROGRESS", "job finished before the kill; make it bigger"
    workers.start()
    done = wait_done(client, action_id, timeout=120)
    assert done["status"] == "DONE"
    assert done["result"]["done_count"] == rows
    assert done["result"]["failed_count"] == 0
    got = sorted(stored(quiet.backend, tenant.id), key=_key)
    assert len(got) == rows
    assert got == expected_rows(rows)
    assert client.get("/v1/customers").json()["total"] == rows


def test_two_workers_never_run_the_same_chunk(quiet, tenant, client, workers) -> None:
    rows = 12_000
    jobs = [upload_csv(client, big_csv(rows)[0]).json()["async_action_id"] for _ in range(2)]
    workers.start()
    workers.start()
    for action_id in jobs:
        assert wait_done(client, action_id, timeout=120)["result"]["done_count"] == rows
    workers.stop_all()
    logs = workers.logs()
    chunks_per_worker = [len(re.findall(r": rows \d+\.\.\d+", log)) for log in logs]
    assert all(count > 0 for count in chunks_per_worker), chunks_per_worker
    for action_id in jobs:
        ranges = sorted(
            (int(a), int(b))
            for log in logs
            for a, b in re.findall(rf"job {action_id} \S+: rows (\d+)\.\.(\d+)", log)
        )
        assert ranges[0][0] == 1
        assert ranges[-1][1] == rows
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert start == end + 1, "chunks overlap or leave a gap"
    # Both imports used the same source_ids, so the second one updated the first one's rows.
    assert len(stored(quiet.backend, tenant.id)) == rows + rows // 10


def test_small_job_is_not_starved_by_a_big_import(quiet, client, workers) -> None:
    big = upload_csv(client, big_csv(20_000)[0]).json()["async_action_id"]
    small = client.post(
        "/v1/customers/metadata/async", json={"source_ids": ["a", "b"], "metadata": {"x": 1}}
    ).json()["async_action_id"]
    workers.start()
    small_done = wait_done(client, small, timeout=60)
    big_state = client.get(f"/v1/async-actions/{big}").json()
    assert small_done["status"] == "DONE"
    assert big_state["status"] == "IN_PROGRESS", "the small job waited for the whole import"
    wait_done(client, big, timeout=120)


def test_sigterm_lets_the_worker_finish_its_chunk(quiet, client, workers) -> None:
    action_id = upload_csv(client, big_csv(20_000)[0]).json()["async_action_id"]
    proc = workers.start()
    wait_progress(client, action_id, 10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert "stopped" in workers.logs()[0]
    workers.start()
    done = wait_done(client, action_id, timeout=120)
    assert done["result"]["done_count"] == 20_000
