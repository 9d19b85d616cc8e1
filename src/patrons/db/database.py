"""Connections on the raw drivers: asyncpg for PostgreSQL, stdlib sqlite3 for SQLite.

Both sides expose the same small surface — `fetchrow`, `fetch`, `fetchval`, `execute`,
`executemany` — so repositories are written once (with `$1` placeholders). On PostgreSQL the
asyncpg pool/connection *is* that surface. SQLite point queries take microseconds, so they run
on the event loop; a SQLite write transaction never yields to the loop between statements,
which makes it atomic within the process (a lock guards the rule), and `BEGIN IMMEDIATE`
plus `busy_timeout` serialises it against other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Protocol

import asyncpg

from patrons.db import dialect

log = logging.getLogger("patrons.db")
Row = Any  # asyncpg.Record or sqlite3.Row: both index by position and by column name


class Conn(Protocol):
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> Any: ...
    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Any: ...


class Database:
    """Base of both back ends (a class, not a Protocol, so dependency checks are cheap)."""

    kind: str

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError

    async def fetchval(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    def rollback_only(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A write transaction like `transaction()` that is always rolled back (for tests)."""
        raise NotImplementedError

    async def ping(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SqliteConn:
    """sqlite3 behind the async surface; every call completes without yielding."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return self.raw.execute(dialect.sqlite_sql(sql), args).fetchone()

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self.raw.execute(dialect.sqlite_sql(sql), args).fetchall()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self.raw.execute(dialect.sqlite_sql(sql), args).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> Any:
        return self.raw.execute(dialect.sqlite_sql(sql), args).rowcount

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Any:
        return self.raw.executemany(dialect.sqlite_sql(sql), args).rowcount


def open_sqlite(path: str) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA busy_timeout=5000")
    raw.execute("PRAGMA foreign_keys=ON")
    # Checkpoints run from a background task (see checkpoint()), not inside a request.
    raw.execute("PRAGMA wal_autocheckpoint=0")
    return raw


class SqliteDatabase(SqliteConn, Database):
    kind = dialect.SQLITE

    def __init__(self, path: str) -> None:
        super().__init__(open_sqlite(path))
        self.path = path
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self._lock:
            self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def rollback_only(self) -> AsyncIterator[Conn]:
        async with self._lock:
            self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self
            finally:
                self.raw.execute("ROLLBACK")

    def checkpoint(self) -> None:
        """WAL checkpoint on a separate connection (call it from a thread)."""
        if self.path == ":memory:":
            return
        side = sqlite3.connect(self.path, isolation_level=None)
        try:
            side.execute("PRAGMA busy_timeout=1000")
            side.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            side.close()

    async def ping(self) -> None:
        self.raw.execute("SELECT 1").fetchone()

    async def close(self) -> None:
        self.raw.close()


async def _no_reset(_conn: asyncpg.Connection) -> None:
    # asyncpg's default reset costs a round trip per release; no session state outlives a use.
    return None


class PostgresDatabase(Database):
    kind = dialect.POSTGRESQL

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # The pool's own bound methods replace the base class's: no extra call on the hot path.
        self.fetchrow = pool.fetchrow  # type: ignore[method-assign]
        self.fetch = pool.fetch  # type: ignore[method-assign]
        self.fetchval = pool.fetchval  # type: ignore[method-assign]

    @classmethod
    async def connect(cls, url: str, *, min_size: int, max_size: int) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            dialect.asyncpg_dsn(url), min_size=min_size, max_size=max_size, reset=_no_reset
        )
        return cls(pool)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def rollback_only(self) -> AsyncIterator[Conn]:
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                yield conn
            finally:
                await tx.rollback()

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()


def pool_of(db: Database) -> asyncpg.Pool | None:
    """The connection pool behind a database, for metrics; None for SQLite's one connection."""
    return db.pool if isinstance(db, PostgresDatabase) else None


async def _checkpoint_loop(db: SqliteDatabase) -> None:
    while True:
        await asyncio.sleep(1.0)
        try:
            await asyncio.to_thread(db.checkpoint)
        except Exception:  # a busy database just waits for the next round
            log.debug("WAL checkpoint skipped", exc_info=True)


def start_checkpoints(db: Database) -> asyncio.Task[None] | None:
    """SQLite: a background task checkpointing the WAL once a second (autocheckpoint is off,
    so no request pays for one); cancel it before closing. None where nothing is needed."""
    if isinstance(db, SqliteDatabase):
        return asyncio.create_task(_checkpoint_loop(db))
    return None


# What a repository function reads through: the database itself (autocommit reads) or a
# connection inside a transaction. Defined once; every repository imports it.
DB = Database | Conn


def kind_of(db: Database | Conn) -> str:
    """The dialect behind a database or a connection taken from it."""
    if isinstance(db, SqliteConn):
        return dialect.SQLITE
    return dialect.POSTGRESQL


async def connect(url: str, *, pg_pool_min: int = 2, pg_pool_max: int = 10) -> Database:
    if dialect.kind_of(url) == dialect.SQLITE:
        return SqliteDatabase(dialect.sqlite_path(url))
    return await PostgresDatabase.connect(url, min_size=pg_pool_min, max_size=pg_pool_max)
