"""The job engine beside the API: the API never waits for a job, an idle worker starts a new job
at once, and API processes die with the `patrons serve` process that started them.

The server here polls for work only every 10 minutes (PATRONS_WORKER_POLL_SECONDS), so a job
that reaches DONE within the tests' deadlines was started by the enqueue's wake-up, not a poll.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    Project,
    Server,
    make_backend,
    new_project,
    server_of_its_own,
    start_server,
)
from tests.factories import upload_csv, wait_done

POLL_SECONDS = "600"  # far longer than any deadline below
CHUNK = 1000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with its embedded worker, small chunks and a 10-minute poll."""
    with server_of_its_own(
        request.param,
        tmp_path_factory.mktemp("engine-" + request.param),
        PATRONS_WORKER_POLL_SECONDS=POLL_SECONDS,
        PATRONS_WORKER_CHUNK_ROWS=str(CHUNK),
        PATRONS_MAX_BODY_BYTES=str(64 << 20),
    ) as running:
        yield running


@pytest.fixture
def client(engine: Server) -> Iterator[httpx.Client]:
    tenant = new_project(engine.backend)
    with httpx.Client(base_url=engine.base_url, headers=tenant.headers, timeout=30) as c:
        yield c


def csv_rows(rows: int, prefix: str = "s") -> str:
    lines = ["Source_id,Name,Email,City,tier"]
    lines += [f"{prefix}{i},Name {i},e{i}@example.org,Lyon,gold" for i in range(rows)]
    return "\n".join(lines) + "\n"


class TestClaimAtOnce:
    def test_a_small_job_is_done_long_before_the_next_poll(self, client: httpx.Client) -> None:
        body = {"source_ids": ["a", "b"], "metadata": {"x": 1}}
        for _ in range(3):  # the worker is idle (asleep for minutes) before each one
            action_id = client.post("/v1/customers/metadata/async", json=body).json()
            done = wait_done(client, action_id["async_action_id"], timeout=30)
            assert done["status"] == "DONE"

    def test_an_import_is_written_long_before_the_next_poll(self, client: httpx.Client) -> None:
        action_id = upload_csv(client, csv_rows(3)).json()["async_action_id"]
        assert wait_done(client, action_id, timeout=30)["result"]["done_count"] == 3
        assert client.get("/v1/customers/s2").json()["name"] == "Name 2"


@pytest.mark.slow
class TestTheApiNeverWaitsForAJob:
    ROWS = 60_000  # several seconds of work on either database, in 60 chunks

    def test_health_answers_and_progress_moves_during_an_import(
        self, client: httpx.Client, engine: Server
    ) -> None:
        seed = client.post("/v1/customers", json={"source_id": "seed", "name": "Seed"}).json()
        action_id = upload_csv(client, csv_rows(self.ROWS)).json()["async_action_id"]
        health_ms: list[float] = []
        read_ms: list[float] = []
        progress_seen: set[int] = set()
        deadline = time.monotonic() + 300
        with httpx.Client(base_url=engine.base_url, timeout=30) as anon:
            while time.monotonic() < deadline:
                action = client.get(f"/v1/async-actions/{action_id}").json()
                if action["status"] != "IN_PROGRESS":
                    if action["status"] == "DONE":
                        break
                    continue
                progress_seen.add(action["progress"])
                t0 = time.perf_counter()
                assert anon.get("/health").status_code == 200
                health_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                assert client.get(f"/v1/customers/{seed['id']}").status_code == 200
                read_ms.append((time.perf_counter() - t0) * 1000)
            else:
                raise AssertionError("the import did not finish")
        done = client.get(f"/v1/async-actions/{action_id}").json()
        assert done["result"]["done_count"] == self.ROWS
        assert len(health_ms) >= 5, "too few calls while the job ran: make it bigger"
        assert max(health_ms) < 2000, f"/health took {max(health_ms):.0f} ms mid-job"
        assert max(read_ms) < 2000, f"GET by id took {max(read_ms):.0f} ms mid-job"
        assert any(0 < p < 100 for p in progress_seen), progress_seen
        assert len({p for p in progress_seen if 0 < p < 100}) >= 2, progress_seen

    def test_writes_go_on_during_an_import(self, client: httpx.Client) -> None:
        action_id = upload_csv(client, csv_rows(self.ROWS // 2, "w")).json()["async_action_id"]
        written = 0
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            action = client.get(f"/v1/async-actions/{action_id}").json()
            if action["status"] == "DONE":
                break
            response = client.post("/v1/customers", json={"source_id": f"live-{written}"})
            assert response.status_code == 200, response.text
            written += 1
        assert written > 0
        total = client.get("/v1/customers").json()["total"]
        assert total == self.ROWS // 2 + written


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kill_9_of_serve_leaves_no_api_process_behind(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    backend, drop = make_backend(kind, tmp_path)
    request.addfinalizer(drop)
    running, stop = start_server(
        backend, tmp_path, PATRONS_WORKER_CHUNK_ROWS="500", PATRONS_MAX_BODY_BYTES=str(64 << 20)
    )
    request.addfinalizer(stop)
    tenant: Project = new_project(backend)
    children = _children(running.process.pid)
    assert children, "granian runs the app in a child process"
    with httpx.Client(base_url=running.base_url, headers=tenant.headers, timeout=30) as client:
        action_id = upload_csv(client, csv_rows(40_000)).json()["async_action_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/async-actions/{action_id}").json()["status"] != "IN_PROGRESS":
            assert time.monotonic() < deadline, "the import never started"
    os.kill(running.process.pid, signal.SIGKILL)
    running.process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children):
        if time.monotonic() > deadline:
            left = [pid for pid in children if _alive(pid)]
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"processes {left} outlived their serve process")
        time.sleep(0.05)
    with pytest.raises(httpx.TransportError):
        httpx.get(running.base_url + "/health", timeout=2)


@pytest.mark.skipif(sys.platform != "linux", reason="signals")
def test_a_separate_worker_is_woken_by_listen_notify(tmp_path: Path) -> None:
    """PostgreSQL: an idle `patrons worker` process hears the enqueue (LISTEN/NOTIFY)."""
    backend, drop = make_backend("postgresql", tmp_path)
    try:
        running, stop = start_server(backend, tmp_path, PATRONS_EMBEDDED_WORKER="0")
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "patrons", "worker"],
            env={
                **os.environ,
                "PATRONS_DATABASE_URL": backend.url,
                "PATRONS_WORKER_POLL_SECONDS": POLL_SECONDS,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            tenant = new_project(backend)
            with httpx.Client(base_url=running.base_url, headers=tenant.headers) as client:
                body = {"source_ids": ["a"], "metadata": {"x": 1}}
                # The first job may be found by the worker's first look at start-up; the later
                # ones arrive while it sleeps for minutes.
                for _ in range(3):
                    action = client.post("/v1/customers/metadata/async", json=body).json()
                    done = wait_done(client, action["async_action_id"], timeout=60)
                    assert done["status"] == "DONE"
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)
            log.close()
            stop()
    finally:
        drop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigterm_of_serve_stops_the_embedded_worker_after_its_chunk(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """A chunk on SQLite never suspends the worker's loop; the stop must still be seen
    between chunks, not only once the whole job is done."""
    backend, drop = make_backend(kind, tmp_path)
    request.addfinalizer(drop)
    running, stop = start_server(
        backend, tmp_path, PATRONS_WORKER_CHUNK_ROWS="500", PATRONS_MAX_BODY_BYTES=str(64 << 20)
    )
    request.addfinalizer(stop)
    tenant = new_project(backend)
    with httpx.Client(base_url=running.base_url, headers=tenant.headers, timeout=30) as client:
        action_id = upload_csv(client, csv_rows(100_000)).json()["async_action_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/async-actions/{action_id}").json()["progress"] < 2:
            assert time.monotonic() < deadline, "the import never started"
    running.process.terminate()
    running.process.wait(timeout=60)
    assert "stopped" in running.log.read_text()
    restarted, stop_again = start_server(backend, tmp_path, PATRONS_EMBEDDED_WORKER="0")
    request.addfinalizer(stop_again)
    with httpx.Client(base_url=restarted.base_url, headers=tenant.headers) as client:
        action = client.get(f"/v1/async-actions/{action_id}").json()
    assert action["status"] == "IN_PROGRESS", "the worker ran the whole job before stopping"
    assert action["progress"] < 100
