"""The worker sizes a job's chunks to the database's log budget (SQLite: the WAL holds about one
chunk, so a chunk that logged more than the budget makes the next one smaller, one that logged
far less a bigger one), and a chunk read ahead is used only at its own checkpoint and size. In
process, on both databases."""

from __future__ import annotations

import secrets

import msgspec
import pytest

from patrons.async_actions import handlers
from patrons.async_actions import repository as jobs
from patrons.async_actions import service as async_actions
from patrons.customers import repository as customers
from patrons.customers.jobs import IMPORT_CSV
from patrons.db import dialect
from patrons.db.database import Database, kind_of
from patrons.projects import service as projects
from patrons.webhooks import service as webhooks
from patrons.webhooks.schemas import WebhookWrite
from patrons.worker import runner
from patrons.worker.runner import CHUNK_GROWTH, MIN_CHUNK_ROWS, Worker

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


def _stepped(db: Database, chunk_rows: int) -> Worker:
    """A worker that runs one chunk per step (where chunks overlap, one step would run on)."""
    return Worker(db, handlers=handlers.registered(), chunk_rows=chunk_rows, overlap=False)


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
        worker = _stepped(db, 1000)
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

    async def test_a_chunk_well_under_the_budget_makes_the_next_ones_bigger(
        self, db: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(runner, "RESIZE_FLOOR_BYTES", 1)  # any chunk counts
        project_id, action_id = await _enqueue(db)
        worker = _stepped(db, 100)
        budget = db.log_budget_bytes
        if budget is not None:
            db.log_budget_bytes = 1 << 40  # every chunk logs far less
        try:
            sizes = await _chunks(db, worker, project_id, action_id)
        finally:
            db.log_budget_bytes = budget

        assert sum(sizes) == ROWS
        if budget is None:
            assert sizes == [100] * 13
        else:  # the second chunk was read ahead at the first one's size
            grown = 100 * CHUNK_GROWTH
            rest = ROWS - 200
            assert sizes == [100, 100] + [grown] * (rest // grown) + [rest % grown] * (
                rest % grown > 0
            )
            assert worker.next_rows == {IMPORT_CSV: 100 * CHUNK_GROWTH}

    async def test_small_chunks_keep_the_configured_size(self, db: Database) -> None:
        project_id, action_id = await _enqueue(db)
        worker = _stepped(db, 100)

        assert await _chunks(db, worker, project_id, action_id) == [100] * 13
        assert worker.next_rows == {}


class TestReadAhead:
    async def test_a_read_ahead_at_another_checkpoint_is_not_used(self, db: Database) -> None:
        project_id, action_id = await _enqueue(db)
        first = _stepped(db, 500)
        assert await first.step()  # rows 1-500 committed; rows 501-1000 read ahead
        assert list(first.ahead) == [action_id]

        # Another worker runs the next chunk meanwhile: the first worker's read-ahead now
        # starts at a checkpoint the job has passed.
        other = _stepped(db, 500)
        assert await other.step()
        sizes = await _chunks(db, first, project_id, action_id, done=1000)

        assert sizes == [300]  # rows 1001-1300, read at the job's own checkpoint
        assert await customers.live_count(db, project_id=project_id) == ROWS
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert msgspec.json.decode(row["result"])["done_count"] == ROWS


class TestNewCustomersEvents:
    async def test_the_snapshot_is_the_row_as_the_event_log_reads_it(self, db: Database) -> None:
        """PostgreSQL COPYs a chunk's new customers and their events with snapshots built from
        the values written; each must equal the snapshot SQL builds from the stored row."""
        lines = [
            "Source_id,Name,Email,Birthdate,City,Postal_Code,Country,tier,Address_Line_1",
            "n-1,Ada Lovelace,ada@example.com,1815-12-10,London,EC1A 1BB,GB,gold,",
            'n-2,"Turing, Alan",,,,,,,"1 Main St, Flat 2"',
            "n-3,Grace,,,,,,platinum,",
            "n-4,,,,,,,,",
        ]
        async with db.transaction() as conn:
            project = await projects.create(conn, name="snap " + secrets.token_hex(3))
            action_id = await async_actions.enqueue(
                conn,
                project_id=project.project_id,
                type_=IMPORT_CSV,
                request_id="v-test",
                payload=("\n".join(lines) + "\n").encode(),
            )
        worker = Worker(db, handlers=handlers.registered())
        await _chunks(db, worker, project.project_id, action_id)

        snapshot = dialect.customer_snapshot_sql(kind_of(db))
        from_rows = {
            r["id"]: (r["source_id"], r["snap"])
            for r in await db.fetch(
                f"SELECT id, source_id, {snapshot} AS snap FROM customer WHERE project_id = $1",
                project.project_id,
            )
        }
        events = await db.fetch(
            "SELECT customer_id, snapshot, type, group_id FROM customer_event"
            " WHERE project_id = $1",
            project.project_id,
        )
        assert sorted(from_rows[e["customer_id"]][0] for e in events) == [
            "n-1",
            "n-2",
            "n-3",
            "n-4",
        ]
        for event in events:
            source_id, from_row = from_rows[event["customer_id"]]
            stored, expected = (
                msgspec.json.decode(v) if isinstance(v, str | bytes) else v
                for v in (event["snapshot"], from_row)
            )
            assert stored == expected, source_id
            assert (event["type"], event["group_id"]) == ("customer.created", "v-test")

    async def test_they_go_to_the_webhook_outbox(self, db: Database) -> None:
        async with db.transaction() as conn:
            project = await projects.create(conn, name="hooked " + secrets.token_hex(3))
            await webhooks.create(
                conn,
                project_id=project.project_id,
                body=WebhookWrite(
                    target_url="http://127.0.0.1:9/hook", events=["customer.created"]
                ),
            )
            action_id = await async_actions.enqueue(
                conn,
                project_id=project.project_id,
                type_=IMPORT_CSV,
                request_id=None,
                payload=b"Source_id,Name\nh-1,One\nh-2,Two\nh-3,Three\n",
            )
        worker = Worker(db, handlers=handlers.registered())  # no dispatcher beside it
        await _chunks(db, worker, project.project_id, action_id)

        events = await db.fetch(
            "SELECT id FROM customer_event WHERE project_id = $1", project.project_id
        )
        outbox = await db.fetch(
            "SELECT event_id FROM webhook_outbox WHERE project_id = $1", project.project_id
        )
        assert len(events) == 3
        assert sorted(r["event_id"] for r in outbox) == sorted(r["id"] for r in events)
