"""Overlapped chunks (worker/runner.py): where writers run concurrently (PostgreSQL) a job's next
chunk is written beside the end of the one before — its rows while that one writes its events
and commits — under one lease, and still applied exactly once. In process, on both databases
(SQLite runs one chunk per step)."""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from typing import Any

import pytest

from patrons.async_actions import repository as jobs
from patrons.async_actions import service as async_actions
from patrons.async_actions.handlers import Applied, Chunk, Job
from patrons.customers import repository as customers
from patrons.customers.jobs import IMPORT_CSV, ImportCsv
from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.projects import service as projects
from patrons.worker.runner import Worker

ROWS, CHUNK = 1300, 100


class Watched(ImportCsv):
    """The CSV import, watched: a chunk that hands on to a next one waits until that one's
    `apply` has begun (so the two are in flight together, or the wait fails the test), and the
    chunk starting at `fail_at` rows fails after that."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.running = 0
        self.peak = 0
        self.began: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.released = asyncio.Event()  # set: chunks stop waiting for the next one

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[Any], *, now: int) -> Applied:
        self.began[job.rows_done].set()
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            applied = await super().apply(conn, job, chunk, now=now)
            if chunk.written is not None and not self.released.is_set():
                # A next chunk was started: it begins meanwhile.
                began = asyncio.ensure_future(self.began[chunk.rows_done].wait())
                released = asyncio.ensure_future(self.released.wait())
                await asyncio.wait((began, released), timeout=30, return_when="FIRST_COMPLETED")
                began.cancel()
                released.cancel()
                assert self.began[chunk.rows_done].is_set() or self.released.is_set()
            if job.rows_done == self.fail_at:
                self.fail_at = None
                raise RuntimeError("this chunk fails after the next one began")
            return applied
        finally:
            self.running -= 1


async def _enqueue(db: Database, rows: int = ROWS, name: str = "overlap") -> tuple[str, str]:
    lines = ["Source_id,Name"] + [f"o-{i:05d},Name {i}" for i in range(rows)]
    async with db.transaction() as conn:
        project = await projects.create(conn, name=f"{name} {secrets.token_hex(3)}")
        action_id = await async_actions.enqueue(
            conn,
            project_id=project.project_id,
            type_=IMPORT_CSV,
            request_id=None,
            payload=("\n".join(lines) + "\n").encode(),
        )
    return project.project_id, action_id


def _overlapping(db: Database) -> None:
    if dialect.one_writer_at_a_time(kind_of(db)):
        pytest.skip("chunks overlap where writers run concurrently (PostgreSQL)")


async def _written(db: Database, project_id: str) -> tuple[list[str], int]:
    """The project's customers' source_ids by created_at, and its customer.created events."""
    rows = await db.fetch(
        "SELECT source_id FROM customer WHERE project_id = $1 ORDER BY created_at, id",
        project_id,
    )
    events = await db.fetchval(
        "SELECT COUNT(*) FROM customer_event WHERE project_id = $1 AND type = 'customer.created'",
        project_id,
    )
    return [r["source_id"] for r in rows], events


async def _one_step(db: Database) -> tuple[str, Watched, Worker, Row]:
    """A job enqueued and one `step` of a watched worker: project id, handler, worker, job row."""
    project_id, action_id = await _enqueue(db)
    watched = Watched()
    worker = Worker(db, handlers={IMPORT_CSV: watched}, chunk_rows=CHUNK)
    assert await worker.step()
    row = await jobs.get(db, project_id=project_id, action_id=action_id)
    assert row is not None
    return project_id, watched, worker, row


async def _drain(worker: Worker) -> None:
    """Run every job to its end (a worker serves every project: left over, a job here would
    take turns with the next test's)."""
    for _ in range(100):
        if not await worker.step():
            return
    raise AssertionError("the worker never ran out of work")


class TestOverlap:
    async def test_one_claim_runs_the_job_with_chunks_in_flight_together(
        self, db: Database
    ) -> None:
        _overlapping(db)
        project_id, watched, _worker, row = await _one_step(db)

        assert (row["status"], row["rows_done"], row["done_count"]) == ("DONE", ROWS, ROWS)
        assert row["lease_owner"] is None
        assert watched.peak == 2
        # Every row once, each with its own created_at, in input order across chunks (a chunk
        # starts after the one before, committed or not), and one event each.
        source_ids, events = await _written(db, project_id)
        assert source_ids == [f"o-{i:05d}" for i in range(ROWS)]
        distinct = await db.fetchval(
            "SELECT COUNT(DISTINCT created_at) FROM customer WHERE project_id = $1", project_id
        )
        assert (distinct, events) == (ROWS, ROWS)

    async def test_sqlite_runs_one_chunk_per_step(self, db: Database) -> None:
        if not dialect.one_writer_at_a_time(kind_of(db)):
            pytest.skip("SQLite writes one transaction at a time")
        _project_id, watched, worker, row = await _one_step(db)

        assert (row["status"], row["rows_done"], row["lease_owner"]) == ("IN_PROGRESS", CHUNK, None)
        assert watched.peak == 1
        await _drain(worker)

    async def test_a_chunk_failing_after_the_next_began_takes_that_one_with_it(
        self, db: Database
    ) -> None:
        _overlapping(db)
        project_id, action_id = await _enqueue(db)
        watched = Watched(fail_at=2 * CHUNK)  # the third chunk, once the fourth has begun
        worker = Worker(db, handlers={IMPORT_CSV: watched}, chunk_rows=CHUNK, lease_ms=1)

        with pytest.raises(RuntimeError, match="after the next one began"):
            await worker.step()

        # The first two chunks committed; the third rolled back, and the fourth with it.
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert (row["status"], row["rows_done"]) == ("IN_PROGRESS", 2 * CHUNK)
        source_ids, events = await _written(db, project_id)
        assert (len(source_ids), events) == (2 * CHUNK, 2 * CHUNK)

        # Its lease runs out (1 ms) and the job resumes at its checkpoint: every row once.
        await _drain(worker)
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert (row["status"], row["done_count"], row["failed_count"]) == ("DONE", ROWS, 0)
        source_ids, events = await _written(db, project_id)
        assert source_ids == [f"o-{i:05d}" for i in range(ROWS)]
        assert events == ROWS
        assert await customers.live_count(db, project_id=project_id) == ROWS

    async def test_a_step_cancelled_mid_job_leaves_whole_chunks(self, db: Database) -> None:
        _overlapping(db)
        project_id, action_id = await _enqueue(db)
        watched = Watched()
        worker = Worker(db, handlers={IMPORT_CSV: watched}, chunk_rows=CHUNK, lease_ms=1)
        stepping = asyncio.ensure_future(worker.step())
        await asyncio.wait_for(watched.began[3 * CHUNK].wait(), timeout=30)  # the 4th chunk

        watched.released.set()
        stepping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stepping

        # Nothing left in flight; what committed is whole chunks, each row and event once.
        assert watched.running == 0
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        done = row["rows_done"]
        assert done % CHUNK == 0
        assert done >= 2 * CHUNK
        source_ids, events = await _written(db, project_id)
        assert (len(source_ids), events) == (done, done)
        await _drain(worker)
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert (row["status"], row["done_count"]) == ("DONE", ROWS)
        source_ids, events = await _written(db, project_id)
        assert (source_ids, events) == ([f"o-{i:05d}" for i in range(ROWS)], ROWS)

    async def test_another_job_waiting_gets_its_turn_after_one_chunk(self, db: Database) -> None:
        _overlapping(db)
        first_project, first = await _enqueue(db, name="first")
        second_project, second = await _enqueue(db, rows=3, name="second")
        worker = Worker(db, handlers={IMPORT_CSV: Watched()}, chunk_rows=CHUNK)

        assert await worker.step()  # the first job: one chunk, as the second one waits
        row = await jobs.get(db, project_id=first_project, action_id=first)
        assert row is not None
        assert (row["status"], row["rows_done"], row["lease_owner"]) == ("IN_PROGRESS", CHUNK, None)

        assert await worker.step()  # the second job's turn: done in one chunk
        row = await jobs.get(db, project_id=second_project, action_id=second)
        assert row is not None
        assert row["status"] == "DONE"
        await _drain(worker)


class TestFollowerCheckpoint:
    async def test_recorded_only_where_the_chunk_before_left_it_and_under_its_lease(
        self, db: Database
    ) -> None:
        project_id, action_id = await _enqueue(db, rows=3)
        async with db.transaction() as conn:
            await jobs.take_lease(
                conn, project_id=project_id, action_id=action_id, owner="w1", now=1, until=10**15
            )
        chunk = {
            "project_id": project_id,
            "action_id": action_id,
            "rows_done": 3,
            "done": 3,
            "failed": 0,
            "created": 3,
            "progress": 99,
            "now": 2,
        }
        async with db.transaction() as conn:
            # The chunk before did not commit the checkpoint this one starts at; the lease is
            # another worker's: not recorded.
            assert not await jobs.checkpoint(conn, **chunk, bytes_done=50, follows=("w1", 20))
            assert not await jobs.checkpoint(conn, **chunk, bytes_done=50, follows=("w2", 0))
            # Where the chunk before left it, under the lease: recorded, the lease kept.
            assert await jobs.checkpoint(
                conn, **chunk, bytes_done=20, follows=("w1", 0), keep_until=10**15
            )
            assert await jobs.checkpoint(conn, **chunk, bytes_done=50, follows=("w1", 20))
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert (row["bytes_done"], row["done_count"], row["lease_owner"]) == (50, 6, None)
        async with db.transaction() as conn:
            await jobs.finish(
                conn,
                project_id=project_id,
                action_id=action_id,
                status="DONE",
                operation_status="SUCCESS",
                result="{}",
                now=3,
            )
