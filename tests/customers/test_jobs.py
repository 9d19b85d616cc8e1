"""The customer job handlers in process: a row the database still refuses is isolated (the chunk
is split under savepoints) and fails alone; transient errors are not turned into row failures;
two workers running opposite-order jobs over the same customers finish without a deadlock."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest

from patrons.async_actions import handlers
from patrons.async_actions import repository as jobs
from patrons.async_actions import service as async_actions
from patrons.async_actions.handlers import Chunk, Job
from patrons.customers import bulk_writer, repository
from patrons.customers.bulk_writer import PATCH, REPLACE, RowWrite
from patrons.customers.jobs import BULK_UPDATE, METADATA_UPDATE, BulkUpdate, ImportCsv
from patrons.db import database
from patrons.db.database import Conn, Database, kind_of
from patrons.db.savepoint import refuses_row
from patrons.projects import service as projects
from patrons.projects.service import Credentials
from patrons.worker.runner import Worker
from tests.conftest import make_backend

NOW = 1_767_225_600_000


async def _refuse_name(conn: Conn, name: str) -> None:
    """Make the database itself refuse customers with this name (inside the test's
    transaction, so it is rolled back with it)."""
    if kind_of(conn) == "postgresql":
        await conn.execute(
            f"ALTER TABLE customer ADD CONSTRAINT refuse_poison CHECK (name <> '{name}')"
        )
    else:
        await conn.execute(
            f"CREATE TRIGGER refuse_poison BEFORE INSERT ON customer WHEN NEW.name = '{name}'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )


def _job(project_id: str) -> Job:
    return Job(
        project_id=project_id,
        id="aa_" + secrets.token_hex(9),
        type=BULK_UPDATE,
        request_id=None,
        payload_bytes=1,
        bytes_done=0,
        rows_done=0,
        attempts=1,
    )


def _chunk(rows: list[RowWrite]) -> Chunk[list[RowWrite]]:
    return Chunk(work=rows, failures=[], bytes_done=1, rows_done=len(rows), progress=0, last=False)


class TestARowTheDatabaseRefuses:
    async def test_is_isolated_and_the_rest_of_the_chunk_is_written(
        self, conn: Conn, tenant: Credentials
    ) -> None:
        await _refuse_name(conn, "poison")
        rows = [
            RowWrite(i, f"s-{i:02d}", {"name": "poison" if i == 13 else f"ok {i}"})
            for i in range(1, 41)
        ]
        job = _job(tenant.project_id)
        applied = await BulkUpdate().apply(conn, job, _chunk(rows), now=NOW)
        assert (applied.done, applied.failed, applied.created) == (39, 1, 39)
        failed = await jobs.failures(conn, project_id=tenant.project_id, action_id=job.id, limit=10)
        assert [(f["row_no"], f["source_id"]) for f in failed] == [(13, "s-13")]
        assert failed[0]["reason"].startswith("the database refused the row")
        assert await repository.live_count(conn, project_id=tenant.project_id) == 39
        assert await repository.get_by_source_id(
            conn, project_id=tenant.project_id, source_id="s-40"
        )

    async def test_every_refused_row_fails_alone(self, conn: Conn, tenant: Credentials) -> None:
        await _refuse_name(conn, "poison")
        bad = {2, 3, 17, 31}
        rows = [
            RowWrite(i, f"s-{i:02d}", {"name": "poison" if i in bad else "ok"})
            for i in range(1, 33)
        ]
        job = _job(tenant.project_id)
        applied = await BulkUpdate().apply(conn, job, _chunk(rows), now=NOW)
        assert (applied.done, applied.failed) == (28, 4)
        failed = await jobs.failures(conn, project_id=tenant.project_id, action_id=job.id, limit=10)
        assert {f["row_no"] for f in failed} == bad


class TestTransientErrors:
    def test_are_not_row_failures(self) -> None:
        class Deadlock(Exception):
            sqlstate = "40P01"

        class TooLarge(Exception):
            sqlstate = "54000"

        assert not refuses_row(Deadlock())
        assert refuses_row(TooLarge())
        assert not refuses_row(RuntimeError("connection lost"))


class TestCreatedAt:
    async def test_rows_of_a_chunk_get_distinct_ordered_milliseconds(
        self, conn: Conn, tenant: Credentials
    ) -> None:
        rows = [RowWrite(i, f"z-{100 - i:03d}", {"name": "x"}) for i in range(1, 51)]
        written = await bulk_writer.write_chunk(
            conn, project_id=tenant.project_id, rows=rows, mode=PATCH, now=NOW
        )
        # Written in source_id order (the lock order), stamped in input order.
        assert [r.source_id for r in written] == sorted(r.source_id for r in rows)
        stamps = {r.row_no: r.created_at for r in written}
        assert [stamps[i] for i in range(1, 51)] == list(range(NOW, NOW + 50))
        # New ids ascend in the order rows are written (each index's right edge).
        assert [r.customer_id for r in written] == sorted(r.customer_id for r in written)
        more = await bulk_writer.write_chunk(
            conn,
            project_id=tenant.project_id,
            rows=[RowWrite(1, "later", {"name": "y"})],
            mode=PATCH,
            now=NOW,
        )
        assert more[0].created_at == NOW + 50  # after the newest, though the clock says NOW


class TestAChunkThatLooksAllNew:
    async def test_updates_the_existing_customer_its_sample_missed(
        self, conn: Conn, tenant: Credentials
    ) -> None:
        """A chunk none of whose sampled source_ids exists is written as all new (COPY on
        PostgreSQL, a plain INSERT on SQLite); an existing source_id outside the sample
        refuses that write whole, and the chunk is upserted instead."""
        (old,) = await bulk_writer.write_chunk(
            conn,
            project_id=tenant.project_id,
            rows=[RowWrite(1, "n-0102", {"name": "old"})],
            mode=PATCH,
            now=NOW,
        )
        rows = [RowWrite(i, f"n-{i:04d}", {"name": "new"}) for i in range(1, 301)]
        assert "n-0102" not in bulk_writer._probes([r.source_id or "" for r in rows])
        written = await bulk_writer.write_chunk(
            conn, project_id=tenant.project_id, rows=rows, mode=PATCH, now=NOW
        )
        assert [r.source_id for r in written if not r.inserted] == ["n-0102"]
        assert await repository.live_count(conn, project_id=tenant.project_id) == 300
        again = await repository.get_by_source_id(
            conn, project_id=tenant.project_id, source_id="n-0102"
        )
        assert again is not None
        assert (again["id"], again["name"]) == (old.customer_id, "new")


class TestACsvRowOverAnExistingCustomer:
    async def test_replaces_it_whole(self, conn: Conn, tenant: Credentials) -> None:
        """A CSV row, converted as a job converts it (`prepare`d: its values only in `full`),
        for a source_id that exists: the customer takes exactly the row's values — a column
        the row leaves empty is cleared (the update path reads `full`, not `changes`)."""
        (old,) = await bulk_writer.write_chunk(
            conn,
            project_id=tenant.project_id,
            rows=[RowWrite(1, "r-1", {"name": "old", "email": "old@example.com"})],
            mode=PATCH,
            now=NOW,
        )
        handler = ImportCsv()
        row = handler.convert(
            handler.prepare(["source_id", "name", "email"]), ["r-1", "new", ""], 2
        )
        assert isinstance(row, RowWrite)
        assert row.changes == {}
        (written,) = await bulk_writer.write_chunk(
            conn, project_id=tenant.project_id, rows=[row], mode=REPLACE, now=NOW, arranged=True
        )
        assert not written.inserted
        got = await repository.get_by_source_id(conn, project_id=tenant.project_id, source_id="r-1")
        assert got is not None
        assert (got["id"], got["name"], got["email"]) == (old.customer_id, "new", None)


class TestSqliteInsertFromJson:
    async def test_values_keep_their_types_and_text_with_a_nul_is_bound(
        self, conn: Conn, tenant: Credentials
    ) -> None:
        """SQLite inserts new customers from one JSON array (bulk_repository.insert_many):
        what comes back is what was written; text with a NUL (which JSON functions cut) is
        bound as parameters. (PostgreSQL COPYs them.)"""
        if kind_of(conn) != "sqlite":
            pytest.skip("the JSON insert is SQLite's")
        names = {"j-1": 'quote " back \\ snow \u2603', "j-2": "1.50", "j-3": None}
        for source_id, name in names.items():
            await bulk_writer.write_chunk(
                conn,
                project_id=tenant.project_id,
                rows=[RowWrite(1, source_id, {"name": name, "metadata": {"n": 1, "s": "x"}})],
                mode=PATCH,
                now=NOW,
            )
        await bulk_writer.write_chunk(
            conn,
            project_id=tenant.project_id,
            rows=[RowWrite(1, "j-nul", {"name": "a\x00b"})],
            mode=PATCH,
            now=NOW,
        )
        for source_id, name in {**names, "j-nul": "a\x00b"}.items():
            row = await conn.fetchrow(
                "SELECT name, metadata, address_set, typeof(created_at) AS t FROM customer"
                " WHERE project_id = $1 AND source_id = $2",
                tenant.project_id,
                source_id,
            )
            assert row is not None
            assert row["name"] == name
            assert row["t"] == "integer"


class TestRowsBuiltAhead:
    def test_a_merged_row_carries_the_values_of_its_merge(self) -> None:
        """`prepare`d rows (CSV, REPLACE: built on the converting thread) that repeat a
        source_id: the write and the event snapshot are those of the later row."""

        def values(i: int, name: str) -> dict[str, object]:
            return {"name": name, "metadata": {"n": i}}

        rows = [
            bulk_writer.prepare(RowWrite(i, "dup", values(i, name)), snapshot=True)
            for i, name in ((1, "first"), (2, "second"))
        ]
        (merged,) = bulk_writer.dedupe(rows, REPLACE)
        fresh = bulk_writer.prepare(RowWrite(0, "dup", values(2, "second")), snapshot=True)
        assert merged.full == fresh.full
        assert merged.merged_rows == (2,)
        assert bulk_writer._snapshot(merged, fresh.full) == bulk_writer._snapshot(fresh, fresh.full)
        assert "second" in bulk_writer._snapshot(merged, fresh.full)

    def test_a_prepared_row_keeps_only_what_it_writes(self) -> None:
        """Its `changes` are in `full`; the dicts would double a chunk's memory."""
        row = bulk_writer.prepare(RowWrite(1, "s", {"name": "n", "metadata": {}}), snapshot=True)
        assert row.changes == {}
        assert row.full is not None
        assert "n" in row.full
        assert row.middle


# --- whole jobs, run by workers on a database of their own -----------------------------------

ROWS = 3000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    made, drop = make_backend(request.param, Path(tmp_path_factory.mktemp("jobs-" + request.param)))
    try:
        yield made.url
    finally:
        drop()


@pytest.fixture
async def engine(engine_url: str) -> AsyncIterator[Database]:
    from patrons import assembly

    assembly.install()
    opened = await database.connect(engine_url, pg_pool_min=1, pg_pool_max=8)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def pg(engine: Database) -> Database:
    if kind_of(engine) != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite writes one transaction at a time)")
    return engine


class TestAJobThatCannotRun:
    async def test_fails_at_once_with_its_reason(self, engine: Database) -> None:
        async with engine.transaction() as conn:
            project = await projects.create(conn, name="broken " + secrets.token_hex(3))
            action_id = await async_actions.enqueue(
                conn,
                project_id=project.project_id,
                type_=METADATA_UPDATE,
                request_id=None,
                payload=b'{"not json\n"a"\n',  # its header row (the metadata) is unusable
            )
        worker = Worker(engine, handlers=handlers.registered())
        assert await worker.step()
        row = await jobs.get(engine, project_id=project.project_id, action_id=action_id)
        assert row is not None
        assert (row["status"], row["attempts"]) == ("FAILED", 1)
        assert "header row cannot be used" in msgspec.json.decode(row["result"])["message"]


async def _bulk_job(db: Database, project_id: str, source_ids: list[str], tag: str) -> str:
    lines = [b'"bulk"'] + [
        msgspec.json.encode({"source_id": s, "name": f"{tag} {s}"}) for s in source_ids
    ]
    async with db.transaction() as conn:
        return await async_actions.enqueue(
            conn,
            project_id=project_id,
            type_=BULK_UPDATE,
            request_id=None,
            payload=b"\n".join(lines) + b"\n",
        )


async def _drain(worker: Worker) -> None:
    for _ in range(200):
        if not await worker.step():
            return
    raise AssertionError("the worker never ran out of work")


class TestNoDeadlock:
    @pytest.mark.parametrize("round_", range(3))
    async def test_two_workers_opposite_orders_same_customers(
        self, pg: Database, round_: int
    ) -> None:
        async with pg.transaction() as conn:
            project = await projects.create(conn, name="deadlock " + secrets.token_hex(3))
        source_ids = [f"c-{i:05d}" for i in range(ROWS)]
        first = await _bulk_job(pg, project.project_id, source_ids, "seed")
        seeder = Worker(pg, handlers=handlers.registered(), chunk_rows=ROWS)
        await _drain(seeder)
        forward = await _bulk_job(pg, project.project_id, source_ids, "forward")
        backward = await _bulk_job(pg, project.project_id, source_ids[::-1], "backward")
        workers = [Worker(pg, handlers=handlers.registered(), chunk_rows=ROWS) for _ in range(2)]
        # A deadlock would raise out of a worker's step (PostgreSQL picks a victim).
        await asyncio.gather(*(_drain(w) for w in workers))
        for action_id in (first, forward, backward):
            row = await jobs.get(pg, project_id=project.project_id, action_id=action_id)
            assert row is not None
            assert (row["status"], row["failed_count"]) == ("DONE", 0)
            assert row["done_count"] == ROWS
