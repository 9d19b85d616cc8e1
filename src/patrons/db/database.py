"""Connections on the raw drivers: asyncpg for PostgreSQL, stdlib sqlite3 for SQLite.

Both sides expose the same small surface — `fetchrow`, `fetch`, `fetchval`, `execute`,
`executemany` — so repositories are written once (with `$1` placeholders). On PostgreSQL the
asyncpg pool/connection *is* that surface. SQLite point queries take microseconds, so they run
on the event loop; a SQLite write transaction never yields to the loop between statements,
which makes it atomic within its event loop (a lock guards the rule). Connections to one file
in one process (the API's and the embedded worker's, on its own thread) take turns through a
per-file writer gate that is awaited, never blocked on, so an event loop never stalls behind
another thread's transaction; `BEGIN IMMEDIATE` plus `busy_timeout` serialises writers
against other processes.

Wake-ups: `notify(conn, channel)` inside a transaction reaches every `listen(db, channel, …)`
once the transaction commits (PostgreSQL: NOTIFY / LISTEN on a dedicated connection; SQLite:
in-process callbacks, as only one process writes a SQLite file at a time in practice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
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

    # The most a bulk writer should put in one transaction's log, or None when the database
    # sets no such bound (see `after_bulk_write`).
    log_budget_bytes: int | None = None

    async def after_bulk_write(self) -> int:
        """Called by bulk writers between their transactions (a job, between chunks): SQLite
        checkpoints its WAL here, so the file stays bounded however big the job is.

        Returns the bytes logged since the last call (SQLite: the WAL it checkpointed, i.e.
        about the last chunk's transaction), or 0 when the database does not say; a worker
        sizes its next chunk from it to stay under `log_budget_bytes`."""
        return 0


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


def open_sqlite(path: str, *, cache_kib: int | None = None) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute(f"PRAGMA cache_size=-{cache_kib or CACHE_KIB}")
    if cache_kib is not None:
        # A job worker's chunk dirties up to its WAL budget of pages, more than its cache: by
        # default SQLite then spills dirty pages to the WAL mid-transaction and re-reads them
        # (a 1M-row import: 10.1 GB read, 6.1M write calls). Kept in memory up to the budget
        # instead, each is written once, at commit: 6.5 GB read, 4.9M write calls; peak RSS
        # +22 MB (paid for by `bulk_writer.prepare`), wall time within this box's noise.
        # SQLite also reads the number as a boolean, from its low byte (24576 is "off"), so
        # spilling is switched back on after: the threshold stays.
        page_bytes = raw.execute("PRAGMA page_size").fetchone()[0]
        raw.execute(f"PRAGMA cache_spill={WAL_CHUNK_BUDGET // page_bytes}")
        raw.execute("PRAGMA cache_spill=ON")
    # Checkpoints run from a background task (see checkpoint()) and between a job's chunks
    # (after_bulk_write()), not inside a request.
    raw.execute("PRAGMA wal_autocheckpoint=0")
    # Once a checkpoint has caught up, the next writer restarts the WAL from its start and
    # trims a larger file to this size: the WAL's peak is about one chunk, not one job.
    raw.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    return raw


WAL_SIZE_LIMIT = 64 * 1024 * 1024
# The WAL file's own header, and each frame's (before its page).
WAL_HEADER_BYTES, WAL_FRAME_HEADER_BYTES = 32, 24
# A job chunk's transaction is sized to log about this much (the worker shrinks the next chunk
# when the last one logged more, and grows it within the budget): the WAL's peak is about one
# chunk, and a chunk's pages grow with the tables (random-key index pages), so a fixed row
# count would outgrow any bound. Under the 128 MB goal with room for the API's own writes.
WAL_CHUNK_BUDGET = 96 * 1024 * 1024
# SQLite's page cache per connection (its default is 2 MiB): a bulk chunk touches thousands of
# index pages, and re-reading evicted ones cost it time.
CACHE_KIB = 16384
# A job worker's connection (connect(..., jobs=True)): a chunk touches up to its WAL budget of
# pages, mostly of random-key indexes; holding more of them between reads and the commit made
# a 1M-row SQLite import ~8% faster (64 MiB: 79 and 82 s against 86 and 90 s, alternating
# runs). 48 MiB: 64 put the API process (with its embedded worker) at 294 MB, by the 300 MB goal.
JOBS_CACHE_KIB = 49152
BUSY_TIMEOUT_MS = 5000
GATE_TIMEOUT_SECONDS = 30.0
CHECKPOINT_WAIT_MS = 200


class _WriterGate:
    """One writer at a time among this process's connections to one SQLite file.

    Awaited by polling a non-blocking `threading.Lock` (cancellation-safe, and an event loop
    never blocks on another thread's transaction); the wait is rare and as long as the other
    writer's transaction (a job's chunk at most).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def acquire(self) -> None:
        """Wait for the gate, then "database is locked" after GATE_TIMEOUT_SECONDS as SQLite's
        busy timeout would (longer than it: the holder may be a big chunk on a slow box)."""
        delay, waited = 0.0005, 0.0
        while not self._lock.acquire(blocking=False):
            if waited >= GATE_TIMEOUT_SECONDS:
                raise sqlite3.OperationalError("database is locked")
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.005)

    def release(self) -> None:
        self._lock.release()


_GATES: dict[str, _WriterGate] = {}
_GATES_LOCK = threading.Lock()


def _file_key(path: str) -> str | None:
    """One key per database file (None for a private in-memory database)."""
    if path == ":memory:" or path.startswith("file::memory:"):
        return None
    return os.path.realpath(path)


def _gate_for(path: str) -> _WriterGate:
    key = _file_key(path)
    if key is None:
        return _WriterGate()
    with _GATES_LOCK:
        return _GATES.setdefault(key, _WriterGate())


# SQLite wake-ups: (file, channel) → the (loop, callback) pairs listening in this process.
_Listener = tuple[asyncio.AbstractEventLoop, Callable[[], None]]
_SQLITE_LISTENERS: dict[tuple[str, str], set[_Listener]] = {}
_LISTENERS_LOCK = threading.Lock()


def _fire(key: str | None, channel: str) -> None:
    if key is None:
        return
    with _LISTENERS_LOCK:
        targets = list(_SQLITE_LISTENERS.get((key, channel), ()))
    for loop, callback in targets:
        with contextlib.suppress(RuntimeError):  # that loop has closed
            loop.call_soon_threadsafe(callback)


class _SqliteTransaction:
    """`SqliteDatabase.transaction()` (and `rollback_only()`): the process's writer lock, the
    file's writer gate, BEGIN IMMEDIATE … COMMIT (ROLLBACK on an exception, when COMMIT itself
    fails, or always for `rollback_only`), then the wake-ups notified inside. A class rather
    than two nested generator context managers: every single-customer write passes here, and
    their layers showed in its profile."""

    __slots__ = ("db", "rollback_only")

    def __init__(self, db: SqliteDatabase, *, rollback_only: bool = False) -> None:
        self.db = db
        self.rollback_only = rollback_only  # always ROLLBACK (`Database.rollback_only`)

    async def __aenter__(self) -> Conn:
        db = self.db
        await db._lock.acquire()
        try:
            await db._gate.acquire()
            try:
                db._on_commit.clear()
                db.raw.execute("BEGIN IMMEDIATE")
            except BaseException:
                db._gate.release()
                raise
        except BaseException:
            db._lock.release()
            raise
        return db

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        db = self.db
        try:
            if exc_type is None and not self.rollback_only:
                try:
                    db.raw.execute("COMMIT")
                except BaseException:
                    if db.raw.in_transaction:
                        db.raw.execute("ROLLBACK")
                    db._on_commit.clear()
                    raise
            else:
                db.raw.execute("ROLLBACK")
                db._on_commit.clear()
                return
        finally:
            db._gate.release()
            db._lock.release()
        notified, db._on_commit = db._on_commit, set()
        for channel in notified:
            _fire(db.key, channel)


class SqliteDatabase(SqliteConn, Database):
    kind = dialect.SQLITE

    def __init__(self, path: str, *, cache_kib: int | None = None) -> None:
        super().__init__(open_sqlite(path, cache_kib=cache_kib))
        self.path = path
        self.key = _file_key(path)
        self._lock = asyncio.Lock()
        self._gate = _gate_for(path)
        self._on_commit: set[str] = set()  # channels notified in the open transaction
        self.log_budget_bytes = WAL_CHUNK_BUDGET
        self.page_bytes: int = self.raw.execute("PRAGMA page_size").fetchone()[0]

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        async with self._lock:
            await self._gate.acquire()
            try:
                yield
            finally:
                self._gate.release()

    def transaction(self) -> _SqliteTransaction:
        return _SqliteTransaction(self)

    def rollback_only(self) -> _SqliteTransaction:
        return _SqliteTransaction(self, rollback_only=True)

    def notify_on_commit(self, channel: str) -> None:
        if self.raw.in_transaction:
            self._on_commit.add(channel)
        else:
            _fire(self.key, channel)

    def checkpoint(self) -> None:
        """WAL checkpoint on a separate connection (call it from a thread)."""
        if self.key is None:
            return
        side = sqlite3.connect(self.path, isolation_level=None)
        try:
            side.execute("PRAGMA busy_timeout=1000")
            side.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            side.close()

    async def after_bulk_write(self) -> int:
        """Checkpoint the whole WAL and restart it, between a job's transactions.

        A passive checkpoint alone let the WAL grow chunk after chunk on this box (every
        checkpoint complete, the log never restarted). RESTART restarts it; it takes the
        writer lock, so it runs inside the writer gate. It waits up to CHECKPOINT_WAIT_MS for
        readers that began before it (point reads: microseconds; readers starting later read
        the database file and are not waited for); with no wait at all, back-to-back API reads
        made it give up most times and the WAL still grew to 240 MB over a 1M-row import.
        When it gives up the frames are still copied and the next chunk's checkpoint retries.
        RESTART, not TRUNCATE: the next transaction overwrites the file from its start (and
        `journal_size_limit` trims what it leaves beyond WAL_SIZE_LIMIT) where a truncated file
        is grown again block by block: on this box's ext4 a cycle of ~90 MB of frames took
        ~190 ms reused against ~280 ms truncated (70 chunks in a 1M-row import).
        Returns the bytes of the log's frames before the checkpoint: about the last
        transaction, as the one before was checkpointed and the log restarted (more when that
        gave up) — not the file's size, which a reused file no longer tells.
        """
        if self.key is None or self.raw.in_transaction:
            return 0
        frames = -1
        async with self._writing():
            self.raw.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                for _ in range(5):  # busy at once while another checkpoint (the API's 1 s one) runs
                    busy, log_frames, _copied = self.raw.execute(
                        "PRAGMA wal_checkpoint(RESTART)"
                    ).fetchone()
                    frames = max(frames, log_frames)  # -1 when it could not even start
                    if not busy:
                        break
                    await asyncio.sleep(0.02)
            finally:
                self.raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if frames < 0:  # never ran: the file's size, an upper bound
            try:
                return os.path.getsize(self.path + "-wal")
            except OSError:
                return 0
        return WAL_HEADER_BYTES + frames * (self.page_bytes + WAL_FRAME_HEADER_BYTES)

    async def ping(self) -> None:
        self.raw.execute("SELECT 1").fetchone()

    async def close(self) -> None:
        self.raw.close()


async def _no_reset(_conn: asyncpg.Connection) -> None:
    # asyncpg's default reset costs a round trip per release; no session state outlives a use.
    return None


class PostgresDatabase(Database):
    kind = dialect.POSTGRESQL

    def __init__(self, pool: asyncpg.Pool, dsn: str | None = None) -> None:
        self.pool = pool
        self.dsn = dsn  # for connections outside the pool (LISTEN)
        # The pool's own bound methods replace the base class's: no extra call on the hot path.
        self.fetchrow = pool.fetchrow  # type: ignore[method-assign]
        self.fetch = pool.fetch  # type: ignore[method-assign]
        self.fetchval = pool.fetchval  # type: ignore[method-assign]

    @classmethod
    async def connect(cls, url: str, *, min_size: int, max_size: int) -> PostgresDatabase:
        dsn = dialect.asyncpg_dsn(url)
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_no_reset)
        return cls(pool, dsn)

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


# --- wake-ups: notify in a transaction, listen in another process or thread --------------------


async def notify(conn: Conn, channel: str) -> None:
    """Wake every listener on `channel` once the caller's transaction commits (at once when
    there is none); a rolled-back transaction wakes nobody."""
    if isinstance(conn, SqliteDatabase):
        conn.notify_on_commit(channel)
    elif isinstance(conn, SqliteConn):
        return  # a bare connection has no listeners to reach
    else:
        await conn.execute("SELECT pg_notify($1, '')", channel)


class Listening:
    """A registered listener; `close()` it when done."""

    def __init__(self, close: Callable[[], Any]) -> None:
        self._close = close

    async def close(self) -> None:
        result = self._close()
        if asyncio.iscoroutine(result):
            await result


async def listen(db: Database, channel: str, callback: Callable[[], None]) -> Listening:
    """Call `callback` (on the running loop) after each committed `notify(…, channel)`.

    PostgreSQL: `LISTEN` on a dedicated connection, never a pooled one (the pool's reset is a
    no-op, so a LISTEN would outlive its use); if that connection drops it is reopened, and
    `callback` runs once on reconnecting, as a notice may have been missed. SQLite: callbacks
    in this process, across threads. Callers still poll now and then: a wake-up is a hint.
    """
    loop = asyncio.get_running_loop()
    if isinstance(db, SqliteDatabase):
        if db.key is None:
            return Listening(lambda: None)
        entry = (loop, callback)
        with _LISTENERS_LOCK:
            _SQLITE_LISTENERS.setdefault((db.key, channel), set()).add(entry)

        def unregister() -> None:
            with _LISTENERS_LOCK:
                _SQLITE_LISTENERS.get((db.key or "", channel), set()).discard(entry)

        return Listening(unregister)
    if isinstance(db, PostgresDatabase) and db.dsn is not None:
        task = asyncio.create_task(_pg_listen(db.dsn, channel, callback))

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return Listening(stop)
    return Listening(lambda: None)


async def _pg_listen(dsn: str, channel: str, callback: Callable[[], None]) -> None:
    first = True
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(channel, lambda *_args: callback())
            if not first:
                callback()  # anything notified while the connection was down
            first = False
            await lost.wait()
            log.warning("LISTEN %s connection lost; reconnecting", channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("LISTEN %s failed; retrying in 2 s", channel, exc_info=True)
            await asyncio.sleep(2.0)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))


# What a repository function reads through: the database itself (autocommit reads) or a
# connection inside a transaction. Defined once; every repository imports it.
DB = Database | Conn


def kind_of(db: Database | Conn) -> str:
    """The dialect behind a database or a connection taken from it."""
    if isinstance(db, SqliteConn):
        return dialect.SQLITE
    return dialect.POSTGRESQL


async def connect(
    url: str, *, pg_pool_min: int = 2, pg_pool_max: int = 10, jobs: bool = False
) -> Database:
    """The database at `url`; `jobs`: for a job worker (SQLite: a bigger page cache)."""
    if dialect.kind_of(url) == dialect.SQLITE:
        cache_kib = JOBS_CACHE_KIB if jobs else None
        return SqliteDatabase(dialect.sqlite_path(url), cache_kib=cache_kib)
    return await PostgresDatabase.connect(url, min_size=pg_pool_min, max_size=pg_pool_max)
