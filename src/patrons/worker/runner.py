"""The worker: claim → read → apply → checkpoint → finish, forever; it knows no job type.

A claim leases one job for one chunk. The job's handler (async_actions/handlers.py) reads the
chunk outside any transaction; its writes, its failed rows and the checkpoint (`bytes_done`,
`rows_done`, counts) then commit in one transaction that first re-checks the lease, so a chunk
is applied exactly once: a worker killed at any moment leaves either the whole chunk or none of
it, and after the lease expires any worker resumes from the checkpoint. Releasing the lease
after every chunk and always claiming the job touched longest ago gives round-robin between
jobs, so small jobs are not starved behind a huge import. A chunk that raises is retried on a
later claim; a job claimed MAX_ATTEMPTS times without a committed chunk is FAILED.

An idle worker sleeps until a job is enqueued (`JOBS_CHANNEL`, notified when the enqueuing
transaction commits) or `poll` seconds pass: polling is the fallback that also finds expired
leases. Between chunks the database may tidy up (`after_bulk_write`: SQLite's WAL checkpoint).

A handler whose chunks depend only on the checkpoint (`reads_ahead`: payload jobs) has its next
chunk read while this one is written — the handler converts rows on a thread, so that CPU work
overlaps the database's — and the read-ahead is used only by a claim at that same checkpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from patrons import observability
from patrons.async_actions import repository
from patrons.async_actions.handlers import (
    BackgroundService,
    Chunk,
    Job,
    JobCannotRun,
    JobHandler,
    Totals,
)
from patrons.async_actions.service import JOBS_CHANNEL, encode_result
from patrons.core import ids
from patrons.core.clock import now_ms
from patrons.db import database, dialect
from patrons.db.database import Conn, Database

log = logging.getLogger("patrons.worker")
PAYLOAD_PIECES_PER_DELETE = 8  # 1 MiB pieces deleted per transaction once a job is done
MIN_CHUNK_ROWS = 100  # however much a chunk logs, the next one still makes progress
CHUNK_GROWTH = 3  # within a log budget a chunk grows up to this many times `chunk_rows`
RESIZE_FLOOR_BYTES = 1 << 20  # a chunk logging less keeps its size (small jobs, tests)
READ_AHEAD_JOBS = 4  # jobs with a next chunk read ahead at once (round-robin between jobs)
MAX_ATTEMPTS = 20  # claims of one job without a committed chunk before it is FAILED
POOL_MAX = 4  # a worker's connections (see `connect`)


async def connect(url: str) -> Database:
    """A worker's database: its pool holds two overlapped chunks' transactions and its
    companions' (webhook deliveries); SQLite gets a job worker's page cache."""
    return await database.connect(url, pg_pool_min=1, pg_pool_max=POOL_MAX, jobs=True)


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        handlers: Mapping[str, JobHandler[Any]],
        chunk_rows: int = 5000,
        lease_ms: int = 30_000,
        poll: float = 0.5,
        services: Sequence[BackgroundService] = (),
        overlap: bool = True,
    ) -> None:
        self.db = db
        # Overlap a job's chunks where the database allows it (`_overlaps`); False: one chunk
        # per `step`, always (tests that watch a job chunk by chunk).
        self.overlap = overlap
        # Loops run beside the job loop on the same database until stop (assembly.services:
        # the webhook dispatcher); the worker knows what they are no more than its job types.
        self.services = tuple(services)
        self.handlers = dict(handlers)
        self.owner = ids.worker_id()
        self.chunk_rows = chunk_rows
        # Per job type, the rows of its next chunk when a log budget made it smaller than
        # `chunk_rows` (see `_size_next_chunk`).
        self.next_rows: dict[str, int] = {}
        # job id → (bytes_done, rows_done) the chunk read ahead starts at, and its reading
        self.ahead: dict[str, tuple[int, int, asyncio.Future[Chunk[Any]]]] = {}
        self.lease_ms = lease_ms
        self.poll = poll
        self._stopping: asyncio.Event | None = None  # `run`'s stop: overlapped chunks end

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started; job types: %s", self.owner, ", ".join(sorted(self.handlers)))
        self._stopping = stop
        wake = asyncio.Event()
        listening = await database.listen(self.db, JOBS_CHANNEL, wake.set)
        companions: list[asyncio.Task[None]] = [
            asyncio.create_task(service(self.db, stop)) for service in self.services
        ]
        try:
            while not stop.is_set():
                wake.clear()  # before looking: a job enqueued from here on wakes the wait below
                try:
                    worked = await self.step()
                except Exception:
                    log.exception("worker %s: chunk failed; the job will be retried", self.owner)
                    worked = False
                if not worked:
                    await _first_of(stop, wake, timeout=self.poll)
                else:
                    # A chunk on SQLite never suspends: let callbacks from other threads (the
                    # embedded worker's stop, a wake-up) run before the next one.
                    await asyncio.sleep(0)
        finally:
            for _at, _rows, reading in self.ahead.values():
                reading.cancel()
            self.ahead.clear()
            await listening.close()
            if companions:  # they stop on `stop`; cancelled when the job loop itself failed
                if not stop.is_set():
                    for task in companions:
                        task.cancel()
                await asyncio.gather(*companions, return_exceptions=True)
        log.info("worker %s stopped", self.owner)

    async def step(self) -> bool:
        """Claim one job and run one chunk of it; False when there was nothing to do."""
        job = await self.claim()
        if job is None:
            return False
        handler = self.handlers.get(job.type)
        if handler is None or job.attempts > MAX_ATTEMPTS:
            await self._fail(job, "job could not be processed")
            return True
        try:
            await self.run_chunk(job, handler)
        except JobCannotRun as exc:  # retrying cannot help: fail now, with the reason
            await self._fail(job, str(exc))
        return True

    async def claim(self) -> Job | None:
        async with self.db.transaction() as conn:
            now = now_ms()
            row = await repository.candidates(conn, now=now)
            if row is None:
                return None
            leased = await repository.take_lease(
                conn,
                project_id=row["project_id"],
                action_id=row["id"],
                owner=self.owner,
                now=now,
                until=now + self.lease_ms,
            )
            return Job.of(leased)

    async def run_chunk(self, job: Job, handler: JobHandler[Any]) -> None:
        """Run the job's chunk at its checkpoint — and, where chunks overlap, the chunks after
        it for as long as no other job waits (see `_overlaps`)."""
        overlap = self._overlaps(handler)
        before: asyncio.Future[bool] | None = None  # the chunk before, maybe still committing
        after: Any = None  # what it handed on (`Chunk.after`)
        committing: asyncio.Future[bool] | None = None
        try:
            while True:
                committing = None
                # Before the chunk too: the WAL may hold an upload's transaction; the peak is
                # then one of them, not both.
                await self.db.after_bulk_write()
                max_rows = self.next_rows.get(job.type, self.chunk_rows)
                chunk = await self._read(job, handler, max_rows)
                await self._read_ahead(job, handler, chunk, max_rows)
                keep = overlap and not chunk.last and not await self._others_waiting(job)
                handed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                if keep:
                    chunk.written = functools.partial(_hand_on, handed)
                follows = None
                if before is not None:
                    chunk.after = after
                    follows = (self.owner, job.bytes_done)
                committing = asyncio.ensure_future(
                    self._commit(job, handler, chunk, keep=keep, follows=follows)
                )
                await asyncio.wait((handed, committing), return_when=asyncio.FIRST_COMPLETED)
                if before is not None:
                    earlier, before = before, None
                    try:
                        committed = await earlier
                    except BaseException:
                        committing.cancel()  # its checkpoint would refuse it anyway
                        await asyncio.gather(committing, return_exceptions=True)
                        raise
                    if not committed:  # the lease was lost: this one's checkpoint refuses too
                        await asyncio.gather(committing, return_exceptions=True)
                        return
                if not keep:
                    await committing
                    return
                if committing.done() and not committing.result():
                    return
                before, after = committing, handed.result() if handed.done() else None
                job = dataclasses.replace(
                    job, bytes_done=chunk.bytes_done, rows_done=chunk.rows_done
                )
        finally:
            # Left early (an error, a cancellation): chunks still in flight end first, in order.
            for pending in (before, committing):
                if pending is not None and not pending.done():
                    (outcome,) = await asyncio.gather(pending, return_exceptions=True)
                    if isinstance(outcome, BaseException):
                        log.warning("worker %s: %s chunk failed: %r", self.owner, job.id, outcome)

    def _overlaps(self, handler: JobHandler[Any]) -> bool:
        """Whether the handler's chunks overlap: chunk N+1's transaction starts once chunk N's
        `apply` has done the writes N+1 could wait on (`Chunk.written`), so one connection
        writes N+1's rows while another writes N's events and commits. Only where writers run
        concurrently (PostgreSQL); N keeps the lease for N+1 (`repository.checkpoint`), whose
        checkpoint is recorded only if N committed — a chunk is still applied exactly once."""
        return (
            self.overlap
            and bool(getattr(handler, "overlaps", False))
            and not dialect.one_writer_at_a_time(self.db.kind)
        )

    async def _others_waiting(self, job: Job) -> bool:
        """Another job could be claimed (or this worker is stopping): the chunk frees its
        lease, so jobs still take turns a chunk at a time."""
        if self._stopping is not None and self._stopping.is_set():
            return True
        return await repository.others_waiting(self.db, action_id=job.id, now=now_ms())

    async def _commit(
        self,
        job: Job,
        handler: JobHandler[Any],
        chunk: Chunk[Any],
        *,
        keep: bool = False,
        follows: tuple[str, int] | None = None,
    ) -> bool:
        """Apply the chunk and record its checkpoint in one transaction; False when the lease
        was lost (nothing committed). `keep`: keep the lease for the next chunk; `follows`:
        (owner, bytes_done) the chunk before left, when it may still be committing."""
        started = observability.now()
        try:
            async with self.db.transaction() as conn:
                # A chunk that follows one still committing does not lock the job first (it
                # would wait for that one's end): its checkpoint checks the lease instead.
                if follows is None and not await repository.hold_lease(
                    conn, project_id=job.project_id, action_id=job.id, owner=self.owner
                ):
                    raise _LeaseLost
                now = now_ms()
                applied = await handler.apply(conn, job, chunk, now=now)
                if chunk.failures:
                    await repository.insert_failures(
                        conn, project_id=job.project_id, action_id=job.id, failures=chunk.failures
                    )
                failed = len(chunk.failures) + applied.failed
                if not await repository.checkpoint(
                    conn,
                    project_id=job.project_id,
                    action_id=job.id,
                    bytes_done=chunk.bytes_done,
                    rows_done=chunk.rows_done,
                    done=applied.done,
                    failed=failed,
                    created=applied.created,
                    progress=chunk.progress,
                    now=now,
                    keep_until=now + self.lease_ms if keep else None,
                    follows=follows,
                ):
                    raise _LeaseLost  # rolls the chunk back
                if chunk.last:
                    await self._finish(conn, job, handler, now)
        except _LeaseLost:
            log.warning("worker %s lost the lease on %s; chunk dropped", self.owner, job.id)
            return False
        logged = await self.db.after_bulk_write()
        self._size_next_chunk(job.type, rows=chunk.rows_done - job.rows_done, logged=logged)
        if chunk.last:
            await self._drop_payload(job)
        observability.JOB_SECONDS.labels(job.type).observe(observability.now() - started)
        observability.JOB_ROWS.labels(job.type, "written").inc(applied.done)
        observability.JOB_ROWS.labels(job.type, "failed").inc(failed)
        log.info(
            "job %s (%s): rows %d..%d, %d written, %d failed%s",
            job.id,
            job.type,
            job.rows_done + 1,
            chunk.rows_done,
            applied.done,
            failed,
            ", done" if chunk.last else "",
        )
        return True

    async def _read(self, job: Job, handler: JobHandler[Any], max_rows: int) -> Chunk[Any]:
        """The job's chunk at its checkpoint: the one read ahead if it starts there (and is
        no bigger than `max_rows`, which may have shrunk since)."""
        ahead = self.ahead.pop(job.id, None)
        if ahead is not None:
            bytes_done, rows_done, reading = ahead
            if (bytes_done, rows_done) == (job.bytes_done, job.rows_done):
                try:
                    chunk = await reading
                except Exception:  # read again below; a lasting problem raises there
                    log.debug("worker %s: read-ahead failed", self.owner, exc_info=True)
                else:
                    if chunk.rows_done - job.rows_done <= max_rows:
                        return chunk
            else:
                reading.cancel()
        return await handler.read_chunk(self.db, job, max_rows=max_rows)

    async def _read_ahead(
        self, job: Job, handler: JobHandler[Any], chunk: Chunk[Any], max_rows: int
    ) -> None:
        """Start reading the chunk after `chunk` (handlers that allow it), and let it start:
        on SQLite the chunk's transaction never yields to the loop, so the reading must be on
        its thread before the transaction begins."""
        if chunk.last or not getattr(handler, "reads_ahead", False):
            return
        while len(self.ahead) >= READ_AHEAD_JOBS:
            _at, _rows, stale = self.ahead.pop(next(iter(self.ahead)))
            stale.cancel()
        after = dataclasses.replace(job, bytes_done=chunk.bytes_done, rows_done=chunk.rows_done)
        reading = asyncio.ensure_future(handler.read_chunk(self.db, after, max_rows=max_rows))
        reading.add_done_callback(_retrieve)  # a read-ahead never used may have failed
        self.ahead[job.id] = (chunk.bytes_done, chunk.rows_done, reading)
        await asyncio.sleep(0)

    def _size_next_chunk(self, type_: str, *, rows: int, logged: int) -> None:
        """Where the database bounds a transaction's log (SQLite: the WAL holds about one
        chunk), size the type's next chunk to log about 90% of the budget at the last one's
        bytes per row: smaller when it logged more than the budget (a chunk's pages per row
        grow with the tables), larger (up to CHUNK_GROWTH times `chunk_rows`) when it logged
        well under it, as a bigger chunk rewrites each touched index page once for more rows.
        Chunks that log under RESIZE_FLOOR_BYTES keep their size."""
        budget = self.db.log_budget_bytes
        if budget is None or rows <= 0 or (logged < RESIZE_FLOOR_BYTES and logged <= budget):
            return
        fits = rows * budget * 9 // (10 * logged)
        rows_next = max(MIN_CHUNK_ROWS, min(fits, self.chunk_rows * CHUNK_GROWTH))
        if rows_next == self.chunk_rows:
            self.next_rows.pop(type_, None)
        else:
            self.next_rows[type_] = rows_next

    async def _finish(self, conn: Conn, job: Job, handler: JobHandler[Any], now: int) -> None:
        row = await repository.get(conn, project_id=job.project_id, action_id=job.id)
        assert row is not None  # its lease was re-checked in this transaction
        totals = Totals(
            done=row["done_count"], failed=row["failed_count"], created=row["created_count"]
        )
        summary = await handler.summarise(conn, job, totals, now=now)
        await repository.finish(
            conn,
            project_id=job.project_id,
            action_id=job.id,
            status="DONE",
            operation_status=summary.operation_status,
            result=encode_result(summary.result),
            now=now,
        )

    async def _drop_payload(self, job: Job) -> None:
        """A finished job's stored payload, deleted a few pieces per transaction after it is
        DONE: deleting it whole in the finishing transaction put the whole upload in the SQLite
        WAL at once (SQLite builds with SECURE_DELETE, as Debian's, zero every freed page)."""
        while True:
            async with self.db.transaction() as conn:
                deleted = await repository.delete_payload_pieces(
                    conn,
                    project_id=job.project_id,
                    action_id=job.id,
                    limit=PAYLOAD_PIECES_PER_DELETE,
                )
            await self.db.after_bulk_write()
            if deleted < PAYLOAD_PIECES_PER_DELETE:
                return

    async def _fail(self, job: Job, reason: str) -> None:
        async with self.db.transaction() as conn:
            await repository.finish(
                conn,
                project_id=job.project_id,
                action_id=job.id,
                status="FAILED",
                operation_status="FAILED",
                result=encode_result({"message": reason}),
                now=now_ms(),
            )


class _LeaseLost(Exception):
    """The chunk's lease is not this worker's any more: its transaction is rolled back."""


def _hand_on(handed: asyncio.Future[Any], value: Any) -> None:
    if not handed.done():
        handed.set_result(value)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Until one of `events` is set or `timeout` seconds pass."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
