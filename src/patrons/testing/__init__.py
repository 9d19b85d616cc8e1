"""Run Patrons inside your own tests, in place of Voucherify.

For pytest the plugin (`patrons.testing.plugin`, registered through the `pytest11` entry point,
so installing Patrons is enough) gives two fixtures:

- `patrons_server` (session): a real `patrons serve` process on a temporary SQLite file and a
  free port, stopped at the end of the session;
- `patrons_project` (function): a fresh project with its own key pair for each test, so tests
  never see each other's customers and need no reset.

Both have `base_url`, `app_id`, `app_token` and `headers` (the `X-App-Id` / `X-App-Token`
pair). For other test runners, `server()` is the same thing as a context manager:

    with patrons.testing.server() as patrons:
        project = patrons.new_project()
        requests.get(f"{patrons.base_url}/v1/customers", headers=project.headers)

Nothing runs at import: the server starts when a fixture (or `server()`) is first used. The
server is started as `sys.executable -m patrons`, so it works from a virtualenv whose `bin/` is
not on the PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["PatronsProject", "PatronsServer", "server"]

T = TypeVar("T")
START_TIMEOUT = 60.0


def _headers(app_id: str, app_token: str) -> dict[str, str]:
    return {"X-App-Id": app_id, "X-App-Token": app_token}


@dataclass(frozen=True)
class PatronsProject:
    """One project (tenant) of a running server and its key pair."""

    base_url: str
    project_id: str
    app_id: str
    app_token: str

    @property
    def headers(self) -> dict[str, str]:
        return _headers(self.app_id, self.app_token)


@dataclass
class PatronsServer:
    """A running `patrons serve` process; its own attributes are the default project's keys."""

    base_url: str
    app_id: str
    app_token: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return _headers(self.app_id, self.app_token)

    def new_project(self, name: str | None = None) -> PatronsProject:
        """A fresh project with its own key pair (written straight into the server's database)."""
        from patrons.db import database
        from patrons.projects import service as projects

        async def create() -> projects.Credentials:
            db = await database.connect(self.database_url, pg_pool_min=1, pg_pool_max=1)
            try:
                async with db.transaction() as conn:
                    return await projects.create(conn, name=name or "test " + secrets.token_hex(3))
            finally:
                await db.close()

        creds = _run(create())
        return PatronsProject(self.base_url, creds.project_id, creds.app_id, creds.app_token)

    def log(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from any caller, inside a running event loop or not (an async
    test may call `new_project()`): on a thread of its own, with its own loop."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(work)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="patrons-testing")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=1) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _start(
    directory: Path, host: str, env: Mapping[str, str], attempt: int
) -> tuple[subprocess.Popen[bytes], str, Path] | None:
    """One start on a free port: (process, base url, log) once it answers, None when the port
    was taken by someone else in between (the caller tries another)."""
    port = _free_port(host)
    log_path = directory / f"server-{attempt}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "patrons", "serve", "--host", host, "--port", str(port)],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base_url = f"http://{host}:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log_path.read_text(errors="replace")
            if "in use" in text.lower():
                return None
            raise RuntimeError(f"patrons serve exited with {process.returncode}:\n{text}")
        if _answers(base_url):
            return process, base_url, log_path
        time.sleep(0.05)
    _stop(process)
    raise RuntimeError(
        f"patrons serve did not answer within {START_TIMEOUT:.0f} s:\n"
        + log_path.read_text(errors="replace")
    )


@contextlib.contextmanager
def server(
    *, directory: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", **env: str
) -> Iterator[PatronsServer]:
    """A real Patrons server on a temporary SQLite file and a free port, stopped on exit.

    `directory` keeps the database and the server log there (default: a temporary directory,
    removed on exit). Keyword arguments are the server's PATRONS_* settings, e.g.
    `PATRONS_AUTH_CACHE_SECONDS="0"`; those of the calling environment are not passed on.
    """
    owned = directory is None
    where = Path(tempfile.mkdtemp(prefix="patrons-")) if directory is None else Path(directory)
    where.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{where / 'patrons.db'}"
    app_id, app_token = "test-app-" + secrets.token_hex(4), secrets.token_hex(16)
    # Hermetic: PATRONS_* settings of the calling shell (a team's own CI may set some) do not
    # reach the server; pass what it should have as keyword arguments.
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PATRONS_")},
        "PATRONS_DATABASE_URL": database_url,
        "PATRONS_APP_ID": app_id,
        "PATRONS_APP_TOKEN": app_token,
        **env,
    }
    try:
        for attempt in range(5):
            started = _start(where, host, full_env, attempt)
            if started is not None:
                break
        else:
            raise RuntimeError("no free port found for patrons serve after 5 attempts")
        process, base_url, log_path = started
        try:
            yield PatronsServer(base_url, app_id, app_token, database_url, log_path, process)
        finally:
            _stop(process)
    finally:
        if owned:
            shutil.rmtree(where, ignore_errors=True)
