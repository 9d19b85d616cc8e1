"""User mistakes end a command with one clear line on stderr, a non-zero exit, within 10 s.

Each case runs the real CLI (`python -m patrons …`) in an empty folder, as a person would.
Tracebacks appear only with `--debug` or PATRONS_LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from patrons.settings import Settings, mask_url
from tests.conftest import PG_URL, _free_port, _pg_reachable

LIMIT = 10.0  # seconds a mistake may take to be reported


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run(cwd: Path, *args: str, **env: str) -> Run:
    full = {**os.environ, "COLUMNS": "200", **env}
    for name in ("PATRONS_APP_ID", "PATRONS_APP_TOKEN", "PATRONS_LOG_LEVEL"):
        if name not in env:
            full.pop(name, None)
    full["PATRONS_DATABASE_URL"] = env.get("PATRONS_DATABASE_URL", "sqlite:///patrons.db")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "patrons", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def one_line(result: Run, *needles: str, code: int = 1) -> str:
    """The run failed with `code`, quickly, with one line on stderr holding every needle."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.seconds < LIMIT, result.seconds
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("patrons: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def needs_pg() -> None:
    problem = _pg_reachable()
    if problem is not None:
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {problem}")


def pg_url(database: str, password: str | None = None) -> str:
    base = PG_URL.rsplit("/", 1)[0]
    if password is not None:
        scheme, rest = base.split("://", 1)
        user, host = rest.split("@", 1) if "@" in rest else ("postgres", rest)
        base = f"{scheme}://{user.split(':')[0]}:{password}@{host}"
    return f"{base}/{database}"


def drop_pg(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


class TestSettings:
    def test_chunk_rows_default_follows_the_database(self, monkeypatch) -> None:
        monkeypatch.delenv("PATRONS_WORKER_CHUNK_ROWS", raising=False)
        monkeypatch.setenv("PATRONS_DATABASE_URL", "sqlite:///patrons.db")
        assert Settings.from_env().worker_chunk_rows == 5000
        monkeypatch.setenv("PATRONS_DATABASE_URL", "postgresql://u@127.0.0.1:5432/patrons")
        assert Settings.from_env().worker_chunk_rows == 10_000
        monkeypatch.setenv("PATRONS_WORKER_CHUNK_ROWS", "700")  # set: on either database
        assert Settings.from_env().worker_chunk_rows == 700

    def test_non_number_max_body_bytes_names_the_variable(self, tmp_path) -> None:
        result = run(tmp_path, "serve", PATRONS_MAX_BODY_BYTES="ten")
        one_line(result, "PATRONS_MAX_BODY_BYTES", "'ten'", code=2)

    def test_bad_log_level_is_refused_before_listening(self, tmp_path) -> None:
        result = run(tmp_path, "serve", "--port", str(_free_port()), PATRONS_LOG_LEVEL="LOUD")
        one_line(result, "PATRONS_LOG_LEVEL", "LOUD", "INFO", code=2)
        assert "Listening" not in result.stdout + result.stderr
        assert not (tmp_path / "patrons.db").exists()

    def test_in_memory_sqlite_is_refused_with_the_reason(self, tmp_path) -> None:
        result = run(tmp_path, "serve", PATRONS_DATABASE_URL="sqlite:///:memory:")
        one_line(result, "PATRONS_DATABASE_URL", "in-memory", "sqlite:///patrons.db", code=2)

    def test_non_number_port_in_the_database_url(self, tmp_path) -> None:
        url = "postgresql://shop:hunter2@db:fivefourthree/shop"
        line = one_line(
            run(tmp_path, "worker", PATRONS_DATABASE_URL=url), "PATRONS_DATABASE_URL", code=2
        )
        assert "hunter2" not in line

    def test_unknown_database_scheme_is_refused_with_the_password_masked(self, tmp_path) -> None:
        result = run(tmp_path, "worker", PATRONS_DATABASE_URL="mysql://shop:hunter2@db/shop")
        line = one_line(result, "PATRONS_DATABASE_URL", "postgresql://", code=2)
        assert "hunter2" not in line
        assert "mysql://shop:***@db/shop" in line


class TestDatabase:
    def test_unreachable_postgresql(self, tmp_path) -> None:
        url = f"postgresql://shop:hunter2@127.0.0.1:{_free_port()}/shop"
        for command in (("serve", "--port", str(_free_port())), ("worker",), ("keys", "list")):
            line = one_line(run(tmp_path, *command, PATRONS_DATABASE_URL=url), "cannot reach")
            assert "hunter2" not in line

    def test_wait_for_db_retries_then_gives_up(self, tmp_path) -> None:
        url = f"postgresql://shop@127.0.0.1:{_free_port()}/shop"
        result = run(tmp_path, "db", "upgrade", "--wait-for-db", "2", PATRONS_DATABASE_URL=url)
        one_line(result, "cannot reach")
        assert result.seconds >= 2

    def test_wait_for_db_waits_for_a_database_that_is_starting(self, tmp_path) -> None:
        needs_pg()
        port = _free_port()
        pg = httpx.URL(PG_URL.replace("postgresql://", "http://"))
        proxy = DelayedProxy(port, (pg.host, pg.port or 5432), delay=1.5)
        try:
            url = PG_URL.replace(f"{pg.host}:{pg.port or 5432}", f"127.0.0.1:{port}")
            result = run(tmp_path, "db", "upgrade", "--wait-for-db", "20", PATRONS_DATABASE_URL=url)
        finally:
            proxy.close()
        assert result.code == 0, result.stderr
        assert "latest schema" in result.stdout

    def test_missing_postgresql_database_says_how_to_create_it(self, tmp_path) -> None:
        needs_pg()
        name = "patrons_missing_" + secrets.token_hex(4)
        result = run(tmp_path, "keys", "list", PATRONS_DATABASE_URL=pg_url(name))
        one_line(result, f'database "{name}" does not exist', "createdb")

    def test_serve_creates_a_missing_postgresql_database(self, tmp_path) -> None:
        needs_pg()
        name = "patrons_created_" + secrets.token_hex(4)
        port = _free_port()
        # A password in the URL (ignored by a trust-auth server) must never be printed.
        env = {**os.environ, "PATRONS_DATABASE_URL": pg_url(name, password="hunter2")}
        log = tmp_path / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "patrons", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert process.poll() is None, log.read_text()
            assert httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)
            drop_pg(name)
        log_text = log.read_text()
        assert "hunter2" not in log_text
        assert ":***@" in log_text  # the start line, masked
        assert f"/{name})" in log_text

    def test_admin_commands_never_create_a_database(self, tmp_path) -> None:
        for command in (
            ("project", "list"),
            ("project", "create", "Shop"),
            ("keys", "list"),
            ("keys", "create", "proj_x"),
            ("keys", "rotate", "app"),
            ("keys", "delete", "app"),
        ):
            one_line(run(tmp_path, *command), "no database file patrons.db", str(tmp_path))
        assert list(tmp_path.iterdir()) == []

    def test_a_database_without_the_schema_says_to_upgrade(self, tmp_path) -> None:
        (tmp_path / "patrons.db").write_bytes(b"")
        one_line(run(tmp_path, "keys", "list"), "no Patrons tables", "patrons db upgrade")

    def test_a_file_that_is_not_a_database(self, tmp_path) -> None:
        (tmp_path / "patrons.db").write_text("hello, I am not SQLite\n" * 100)
        one_line(run(tmp_path, "project", "list"), "not a usable SQLite database")


class TestPort:
    def test_a_taken_port_is_refused(self, tmp_path) -> None:
        # granian listens with SO_REUSEPORT: a second granian would share the port silently.
        with socket.socket() as taken:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            result = run(tmp_path, "serve", "--port", str(port))
        one_line(result, f"127.0.0.1:{port}", "in use", "--port")
        assert not (tmp_path / "patrons.db").exists()

    def test_a_second_server_on_a_running_servers_port_is_refused(self, server, tmp_path) -> None:
        port = server.base_url.rsplit(":", 1)[1]
        one_line(run(tmp_path, "serve", "--port", port), "in use")
        assert server.process.poll() is None


class TestImport:
    def test_missing_file(self, tmp_path) -> None:
        result = run(tmp_path, "import", "nope.csv", "--app-id", "a", "--app-token", "b")
        one_line(result, "no file nope.csv", code=2)

    def test_url_without_scheme(self, tmp_path) -> None:
        (tmp_path / "c.csv").write_text("Source_id\nx\n")
        result = run(
            tmp_path,
            "import",
            "c.csv",
            "--url",
            "127.0.0.1:8000",
            "--app-id",
            "a",
            "--app-token",
            "b",
        )
        one_line(result, "--url", "http://", code=2)

    def test_server_down(self, tmp_path) -> None:
        (tmp_path / "c.csv").write_text("Source_id\nx\n")
        url = f"http://127.0.0.1:{_free_port()}"
        result = run(tmp_path, "import", "c.csv", "--url", url, "--app-id", "a", "--app-token", "b")
        one_line(result, "cannot reach Patrons", url, code=3)

    def test_wrong_keys(self, server, tmp_path) -> None:
        (tmp_path / "c.csv").write_text("Source_id\nx\n")
        result = run(
            tmp_path,
            "import",
            "c.csv",
            "--url",
            server.base_url,
            "--app-id",
            "a",
            "--app-token",
            "b",
        )
        one_line(result, "upload refused", "401", code=3)


class TestDebug:
    def test_debug_flag_shows_the_traceback(self, tmp_path) -> None:
        result = run(tmp_path, "--debug", "keys", "list")
        assert result.code != 0
        assert "Traceback" in result.stderr or "DatabaseProblem" in result.stderr

    def test_debug_log_level_shows_the_traceback(self, tmp_path) -> None:
        result = run(tmp_path, "keys", "list", PATRONS_LOG_LEVEL="DEBUG")
        assert result.code != 0
        assert "Traceback" in result.stderr or "DatabaseProblem" in result.stderr


def test_mask_url() -> None:
    assert mask_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db?password=x&sslmode=require") == (
        "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("sqlite:///patrons.db") == "sqlite:///patrons.db"


class DelayedProxy:
    """A TCP forwarder that starts listening only after `delay` seconds (a starting database)."""

    def __init__(self, port: int, target: tuple[str, int], delay: float) -> None:
        import threading

        self.port, self.target, self.delay = port, target, delay
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop)

    async def _serve(self) -> None:
        await asyncio.sleep(self.delay)
        self.server = await asyncio.start_server(self._pipe_pair, "127.0.0.1", self.port)

    async def _pipe_pair(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        async def stop() -> None:
            if hasattr(self, "server"):
                self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
