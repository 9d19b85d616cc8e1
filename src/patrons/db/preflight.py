"""Is the database there and usable? One clear sentence when it is not (no traceback).

Commands call `check` before migrating or connecting, so a person sees "PostgreSQL at
db:5432 refused the connection" instead of a driver traceback, and admin commands never
create an empty SQLite file by opening a path that does not exist. Messages never carry a
password: they name the host, port, database and role only.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

from patrons.db import dialect


class DatabaseProblem(Exception):
    """The database cannot be used; the message is one sentence for a person."""


def check(
    url: str,
    *,
    create: bool = False,
    need_schema: bool = False,
    wait_seconds: float = 0.0,
) -> None:
    """Raise DatabaseProblem unless `url` can be opened.

    create: make a missing database (SQLite: the file; PostgreSQL: CREATE DATABASE when the
    role may), as `serve`, `worker` and `db upgrade` do; otherwise a missing one is a problem.
    need_schema: the Patrons tables must be there (admin commands that only read or change rows).
    wait_seconds: keep retrying an unreachable server (one that is still starting) this long.
    """
    if dialect.kind_of(url) == dialect.SQLITE:
        _check_sqlite(dialect.sqlite_path(url), create=create, need_schema=need_schema)
    else:
        asyncio.run(_check_postgres(url, create=create, need_schema=need_schema, wait=wait_seconds))


def _no_schema(where: str) -> DatabaseProblem:
    return DatabaseProblem(
        f"{where} has no Patrons tables yet: run `patrons db upgrade` (or start `patrons serve`)"
        " first"
    )


def _check_sqlite(path: str, *, create: bool, need_schema: bool) -> None:
    file = Path(path)
    if not file.exists():
        if not create:
            raise DatabaseProblem(
                f"no database file {path} (in {os.getcwd()}): run the command where it is, set"
                " PATRONS_DATABASE_URL=sqlite:////absolute/path.db, or create one with"
                " `patrons db upgrade` (or `patrons serve`)"
            )
        if not file.parent.is_dir():
            raise DatabaseProblem(f"cannot create {path}: folder {file.parent} does not exist")
        return
    if file.is_dir():
        raise DatabaseProblem(f"{path} is a folder, not a SQLite database file")
    try:
        raw = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            has = raw.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone()[0]
        finally:
            raw.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseProblem(f"{path} is not a usable SQLite database: {exc}") from None
    if need_schema and not has:
        raise _no_schema(path)


def _describe(url: str) -> tuple[str, str, str]:
    """(host:port, database, role) for messages, without the password."""
    parts = urlsplit(url)
    host = parts.hostname or os.environ.get("PGHOST") or "localhost"
    where = f"{host}:{parts.port or 5432}"
    name = unquote(parts.path.lstrip("/")) or "postgres"
    role = unquote(parts.username or "") or os.environ.get("PGUSER") or "(default role)"
    return where, name, role


async def _check_postgres(url: str, *, create: bool, need_schema: bool, wait: float) -> None:
    dsn = dialect.asyncpg_dsn(url)
    where, name, role = _describe(url)
    deadline = time.monotonic() + wait
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=max(1.0, min(5.0, wait or 5.0)))
        except asyncpg.InvalidCatalogNameError:
            if not create:
                raise DatabaseProblem(
                    f'database "{name}" does not exist on PostgreSQL at {where}: create it with'
                    f" `createdb -h {where.split(':')[0]} -p {where.split(':')[1]} -U {role}"
                    f" {name}` (`patrons serve` creates it when role {role} may)"
                ) from None
            await _create_database(dsn, where, name, role)
            continue
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            raise DatabaseProblem(
                f"PostgreSQL at {where} refused role {role} (wrong password or no access to"
                f' database "{name}"): check PATRONS_DATABASE_URL'
            ) from None
        except (TimeoutError, OSError, asyncpg.CannotConnectNowError) as exc:
            if time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                continue
            reason = _reason(exc)
            hint = "" if wait else " (--wait-for-db SECONDS waits for a server that is starting)"
            raise DatabaseProblem(f"cannot reach PostgreSQL at {where}: {reason}{hint}") from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise DatabaseProblem(f"PostgreSQL at {where} refused the connection: {exc}") from None
        try:
            if need_schema:
                found = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
                if not found:
                    raise _no_schema(f'database "{name}" at {where}')
        finally:
            await conn.close()
        return


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running there?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


async def _create_database(dsn: str, where: str, name: str, role: str) -> None:
    parts = urlsplit(dsn)
    last: Exception | None = None
    for maintenance in ("postgres", "template1"):
        try:
            conn = await asyncpg.connect(parts._replace(path="/" + maintenance).geturl(), timeout=5)
        except asyncpg.PostgresError as exc:
            last = exc
            continue
        try:
            quoted = '"' + name.replace('"', '""') + '"'
            await conn.execute(f"CREATE DATABASE {quoted}")
            return
        except asyncpg.DuplicateDatabaseError:  # another process made it first
            return
        except asyncpg.InsufficientPrivilegeError as exc:
            last = exc
            break
        finally:
            await conn.close()
    raise DatabaseProblem(
        f'database "{name}" does not exist on PostgreSQL at {where} and role {role} may not'
        f" create it ({last}): create it with `createdb -h {where.split(':')[0]} -p"
        f" {where.split(':')[1]} -U <a role that may> {name}`, then start again"
    )
