"""Fixtures: every API test runs against a real Patrons process on SQLite and on PostgreSQL.

- SQLite always runs. PostgreSQL runs when reachable at PATRONS_TEST_PG_URL (default: the local
  `test` database); with PATRONS_TEST_REQUIRE_PG=1 (CI) an unreachable PostgreSQL is an error.
- Each backend gets a scratch database and one server process for the session.
- Each test gets a fresh project (tenant) with its own keys, so tests never see each other's
  customers and cross-tenant checks come for free.
- The in-process layer (tests/<domain>/test_service.py, test_repository.py; fixtures `db`,
  `conn`, `tenant` at the end of this file) runs services and repositories directly on their
  own scratch databases, each test inside a transaction that is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from patrons.db import database, migrate
from patrons.projects import service as projects

PG_URL = os.environ.get("PATRONS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("PATRONS_TEST_REQUIRE_PG") == "1"


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Backend:
    name: str
    url: str


@dataclass
class Server:
    backend: Backend
    base_url: str
    app_id: str
    app_token: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Project:
    id: str
    app_id: str
    app_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-App-Id": self.app_id, "X-App-Token": self.app_token}


def _scratch_pg() -> tuple[str, str]:
    name = "patrons_test_" + secrets.token_hex(4)

    async def create() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base = PG_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def make_backend(name: str, tmp_dir: Path) -> tuple[Backend, Callable[[], None]]:
    """A fresh, migrated database of the given kind and a function that removes it."""
    if name == "sqlite":
        url = f"sqlite:///{tmp_dir / 'patrons.db'}"
        migrate.upgrade(url)
        return Backend("sqlite", url), lambda: None
    problem = _pg_reachable()
    if problem is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {problem}")
    db_name, url = _scratch_pg()
    migrate.upgrade(url)
    return Backend("postgresql", url), lambda: _drop_pg(db_name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    made, drop = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield made
    finally:
        drop()


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            httpx.get(base_url + "/v1/customers", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def start_server(
    backend: Backend, log_dir: Path, **extra_env: str
) -> tuple[Server, Callable[[], None]]:
    """A real `patrons serve` process on a free port; returns it and a function to stop it."""
    port = _free_port()
    app_id, app_token = "test-app-" + secrets.token_hex(4), secrets.token_hex(16)
    env = {
        **os.environ,
        "PATRONS_DATABASE_URL": backend.url,
        "PATRONS_APP_ID": app_id,
        "PATRONS_APP_TOKEN": app_token,
        # Short, so key rotation tests can watch an old token die.
        "PATRONS_AUTH_CACHE_SECONDS": "1",
        **extra_env,
    }
    log = log_dir / f"{backend.name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "patrons", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log)
    except Exception:
        stop()
        raise
    return Server(backend, base_url, app_id, app_token, process, log), stop


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, stop = start_server(backend, tmp_path_factory.mktemp("server"))
    try:
        yield running
    finally:
        stop()


@contextlib.contextmanager
def server_of_its_own(kind: str, tmp_dir: Path, **extra_env: str) -> Iterator[Server]:
    """A fresh database of `kind` and a `patrons serve` on it; both gone afterwards."""
    own, drop = make_backend(kind, tmp_dir)
    try:
        running, stop = start_server(own, tmp_dir, **extra_env)
        try:
            yield running
        finally:
            stop()
    finally:
        drop()


@pytest.fixture
def workerless_server(server: Server, tmp_path: Path) -> Iterator[Server]:
    """A server with no embedded worker on a database of its own, so its jobs stay queued:
    no other process's worker shares the database to claim them (on the shared database the
    session server's worker could finish a job before the test looked at it)."""
    with server_of_its_own(server.backend.name, tmp_path, PATRONS_EMBEDDED_WORKER="0") as running:
        yield running


async def _new_project(url: str) -> projects.Credentials:
    db = await database.connect(url, pg_pool_min=1, pg_pool_max=1)
    try:
        async with db.transaction() as conn:
            return await projects.create(conn, name="test " + secrets.token_hex(3))
    finally:
        await db.close()


def new_project(backend: Backend) -> Project:
    creds = asyncio.run(_new_project(backend.url))
    return Project(creds.project_id, creds.app_id, creds.app_token)


@pytest.fixture
def project(server: Server) -> Project:
    return new_project(server.backend)


@pytest.fixture
def other_project(server: Server) -> Project:
    return new_project(server.backend)


@pytest.fixture
def api(server: Server, project: Project) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as this test's own fresh project."""
    with httpx.Client(base_url=server.base_url, headers=project.headers, timeout=30) as client:
        yield client


@pytest.fixture
def other_api(server: Server, other_project: Project) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.base_url, headers=other_project.headers, timeout=30
    ) as client:
        yield client


@pytest.fixture
def anon(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


# --- the in-process layer: services and repositories on a real database ----------------------
#
# Tests under tests/<domain>/ (test_service.py, test_repository.py) call the code directly: one
# scratch database per kind for the session (its own, so nothing the black-box suite commits is
# visible), and per test one write transaction that is always rolled back. No server process.


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def inprocess_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    made, drop = make_backend(request.param, tmp_path_factory.mktemp("inprocess-" + request.param))
    try:
        yield made
    finally:
        drop()


@pytest.fixture(scope="session")
async def db(inprocess_backend: Backend) -> AsyncIterator[database.Database]:
    """The real `Database` (sqlite3 or an asyncpg pool) on the session's scratch database."""
    from patrons import assembly

    assembly.install()
    opened = await database.connect(inprocess_backend.url, pg_pool_min=1, pg_pool_max=2)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def conn(db: database.Database) -> AsyncIterator[database.Conn]:
    """This test's connection, inside a write transaction that is rolled back afterwards."""
    async with db.rollback_only() as inside:
        yield inside


@pytest.fixture
async def tenant(conn: database.Conn) -> projects.Credentials:
    """This test's own project (created inside the test's transaction)."""
    return await projects.create(conn, name="test " + secrets.token_hex(3))


@pytest.fixture
async def other_tenant(conn: database.Conn) -> projects.Credentials:
    return await projects.create(conn, name="other " + secrets.token_hex(3))
