"""The worker sizes a job's chunks to the database's log budget (SQLite: the WAL holds about one
chunk, so a chunk that logged more than the budget makes the next one smaller), and a chunk
read ahead is used only at its own checkpoint and size. In process, on both databases."""

from __future__ import annotations

import secrets

import msgspec

from patrons.async_actions import handlers
from patrons.async_actions import repository as jobs
from patrons.async_actions import service as async_actions
from patrons.customers import repository as customers
from patrons.customers.jobs import IMPORT_CSV
from patrons.db.database import Database
from patrons.projects import service as projects
from patrons.worker.runner import MIN_CHUNK_ROWS, Worker

ROWS = 1300


def _csv(rows: int) -> bytes:
    lines = ["Source_id,Name,City"] + [f"b-{i:05d},Name {i},Lyon" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


async def _enqueue(db: Database) -> tuple[str, str]:
    async with db.transaction() as conn:
        project = await projects.create(conn, name="budget " + secrets.token_hex(3))
        action_id = await async_actions.enqueue(
            conn,
            project_id=project.project_id,
            type_=IMPORT_CSV,
            request_id=None,
            payload=_csv(ROWS),
        )
    return project.project_id, action_id


async def _chunks(
    db: Database, worker: Worker, project_id: str, action_id: str, done: int = 0
) -> list[int]:
    """Rows per committed chunk after `done` rows, step by step, until the job is DONE."""
    sizes = []
    for _ in range(50):
        assert await worker.step()
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        sizes.append(row["rows_done"] - done)
        done = row["rows_done"]
        if row["status"] == "DONE":
            return sizes
    raise AssertionError("the job never finished")


class TestChunkSize:
    async def test_a_chunk_over_the_log_budget_makes_the_next_ones_smaller(
        self, db: Database
    ) -> None:
        project_id, action_id = await _enqueue(db)
        worker = Worker(db, handlers=handlers.registered(), chunk_rows=1000)
        budget = db.log_budget_bytes
        if budget is not None:
            db.log_budget_bytes = 1  # every chunk logs more than this
        try:
            sizes = await _chunks(db, worker, project_id, action_id)
        finally:
            db.log_budget_bytes = budget

        if budget is None:  # PostgreSQL: no log bound, the configured size throughout
            assert sizes == [1000, 300]
        else:  # the 300 rows read ahead at the old size are read again at the new one
            assert sizes == [1000, MIN_CHUNK_ROWS, MIN_CHUNK_ROWS, MIN_CHUNK_ROWS]
            assert worker.next_rows[IMPORT_CSV] == MIN_CHUNK_ROWS
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        result = msgspec.json.decode(row["result"])
        assert (result["done_count"], result["failed_count"]) == (ROWS, 0)
        assert await customers.live_count(db, project_id=project_id) == ROWS

    async def test_within_the_budget_the_configured_size_holds(self, db: Database) -> None:
        project_id, action_id = await _enqueue(db)
        worker = Worker(db, handlers=handlers.registered(), chunk_rows=1000)

        assert await _chunks(db, worker, project_id, action_id) == [1000, 300]
        assert worker.next_rows == {}


class TestReadAhead:
    async def test_a_read_ahead_at_another_checkpoint_is_not_used(self, db: Database) -> None:
        project_id, action_id = await _enqueue(db)
        first = Worker(db, handlers=handlers.registered(), chunk_rows=500)
        assert await first.step()  # rows 1-500 committed; rows 501-1000 read ahead
        assert list(first.ahead) == [action_id]

        # Another worker runs the next chunk meanwhile: the first worker's read-ahead now
        # starts at a checkpoint the job has passed.
        other = Worker(db, handlers=handlers.registered(), chunk_rows=500)
        assert await other.step()
        sizes = await _chunks(db, first, project_id, action_id, done=1000)

        assert sizes == [300]  # rows 1001-1300, read at the job's own checkpoint
        assert await customers.live_count(db, project_id=project_id) == ROWS
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert msgspec.json.decode(row["result"])["done_count"] == ROWS
