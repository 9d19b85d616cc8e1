"""The job-handler seam, in process on a real migrated database of each kind: the worker runs
whatever job types are registered — a new type is one handler, and worker/ needs no change."""

from __future__ import annotations

import ast
import asyncio
import gc
import secrets
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from patrons import assembly
from patrons.async_actions import handlers
from patrons.async_actions import repository as jobs
from patrons.async_actions import service as async_actions
from patrons.async_actions.handlers import (
    Applied,
    Chunk,
    Failure,
    Job,
    PayloadRows,
    Summary,
    Totals,
    reported_failures,
)
from patrons.db import dialect
from patrons.db.database import Conn, Database
from patrons.projects import service as projects
from patrons.worker import embedded
from patrons.worker.embedded import EmbeddedWorker
from patrons.worker.runner import Worker
from tests.conftest import Backend

TALLY = "TESTS.TALLY"


class Tally(PayloadRows[int, int]):
    """A stand-in job type: JSON lines of numbers after a header naming a scale; it writes
    nothing but its result (a non-number is a per-row failure)."""

    type = TALLY

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[list[int]] = []

    def prepare(self, header: Any) -> int:
        return int(msgspec.json.decode(header)["scale"])

    def convert(self, context: int, raw: Any, row_no: int) -> int | Failure:
        value = msgspec.json.decode(raw)
        if not isinstance(value, int):
            return Failure(row_no, f"s{row_no}", "not a number")
        return value * context

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[list[int]], *, now: int) -> Applied:
        self.applied.append(list(chunk.work))
        return Applied(done=len(chunk.work), created=sum(1 for v in chunk.work if v > 0))

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary:
        failures = await reported_failures(conn, job)
        return Summary(
            {
                "done": totals.done,
                "failed": totals.failed,
                "created": totals.created,
                "rows": [f.row_no for f in failures],
            },
            "SUCCESS",
        )


@pytest.fixture
def tally() -> Iterator[Tally]:
    handler = Tally()
    handlers.register(handler)
    try:
        yield handler
    finally:
        handlers.unregister(TALLY)


async def _enqueue(db: Database, type_: str, payload: bytes) -> tuple[str, str]:
    async with db.transaction() as conn:
        project = await projects.create(conn, name="jobs " + secrets.token_hex(3))
        action_id = await async_actions.enqueue(
            conn, project_id=project.project_id, type_=type_, request_id=None, payload=payload
        )
    return project.project_id, action_id


async def _run_all(worker: Worker) -> int:
    steps = 0
    while await worker.step():
        steps += 1
        assert steps < 100, "the job never finished"
    return steps


class TestRegisteredHandler:
    async def test_the_worker_runs_a_newly_registered_type(
        self, db: Database, tally: Tally
    ) -> None:
        lines = [b'{"scale": 10}', b"1", b"2", b'"x"', b"-3", b"", b"4"]
        project_id, action_id = await _enqueue(db, TALLY, b"\n".join(lines) + b"\n")

        steps = await _run_all(Worker(db, handlers=handlers.registered(), chunk_rows=2))

        assert steps == 3  # rows 1-2, 3-4, 5: chunks of two after the header
        assert tally.applied == [[10, 20], [-30], [40]]
        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert (row["status"], row["operation_status"], row["progress"]) == ("DONE", "SUCCESS", 100)
        assert msgspec.json.decode(row["result"]) == {
            "done": 4,
            "failed": 1,
            "created": 3,
            "rows": [3],
        }
        assert row["rows_done"] == 5
        piece = await jobs.payload_piece(db, project_id=project_id, action_id=action_id, seq=0)
        assert piece is None  # a finished job's payload is dropped

    async def test_a_type_no_handler_knows_fails_the_job(self, db: Database) -> None:
        project_id, action_id = await _enqueue(db, "TESTS.UNKNOWN", b'"h"\n1\n')

        await _run_all(Worker(db, handlers=handlers.registered()))

        row = await jobs.get(db, project_id=project_id, action_id=action_id)
        assert row is not None
        assert row["status"] == "FAILED"
        assert msgspec.json.decode(row["result"]) == {"message": "job could not be processed"}


class ConvertsWhileAChunkIsWritten(Tally):
    """Its first chunk's `apply` holds the event loop (as SQLite's synchronous calls do for a
    whole transaction) until the next chunk's rows have been converted, or 30 s pass."""

    def __init__(self) -> None:
        super().__init__()
        self.next_converted = threading.Event()
        self.overlapped: list[bool] = []

    def convert(self, context: int, raw: Any, row_no: int) -> int | Failure:
        if row_no == 3:
            self.next_converted.set()
        return super().convert(context, raw, row_no)

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[list[int]], *, now: int) -> Applied:
        if not self.overlapped:
            self.overlapped.append(self.next_converted.wait(timeout=30))  # blocks the loop
        return await super().apply(conn, job, chunk, now=now)


class TestReadAhead:
    async def test_the_next_chunk_is_converted_while_a_transaction_holds_the_loop(
        self, db: Database
    ) -> None:
        """The read-ahead parses and converts the next chunk in one hop off the loop: a second
        hop would wait for the loop, which SQLite's transaction holds until it commits."""
        if not dialect.one_writer_at_a_time(db.kind):
            pytest.skip("SQLite's transactions hold the loop; PostgreSQL's await the server")
        handler = ConvertsWhileAChunkIsWritten()
        handlers.register(handler)
        try:
            lines = [b'{"scale": 1}', b"1", b"2", b"3", b"4"]
            await _enqueue(db, TALLY, b"\n".join(lines) + b"\n")
            await _run_all(Worker(db, handlers=handlers.registered(), chunk_rows=2))
        finally:
            handlers.unregister(TALLY)
        assert handler.overlapped == [True]
        assert handler.applied == [[1, 2], [3, 4]]


class TestRegistry:
    def test_assembly_registers_every_job_type(self) -> None:
        assembly.install()
        assert {
            "CUSTOMERS.IMPORT_CSV",
            "CUSTOMERS.BULK_UPDATE",
            "CUSTOMERS.METADATA_UPDATE",
            "CAMPAIGN.VOUCHERS_GENERATE",
        } <= set(handlers.registered())

    def test_a_second_handler_for_a_type_is_refused(self, tally: Tally) -> None:
        handlers.register(tally)  # the same handler again: a no-op
        with pytest.raises(ValueError, match="already registered"):
            handlers.register(Tally())

    def test_the_worker_imports_no_resource_package_but_async_actions(self) -> None:
        allowed = {"async_actions", "core", "db", "observability", "worker"}  # worker: its own
        worker = Path(__file__).resolve().parents[1] / "src" / "patrons" / "worker"
        imported: set[str] = set()
        for path in worker.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("patrons"):
                    parts = (node.module or "").split(".")
                    imported |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        assert imported <= allowed, imported - allowed


class TestEmbeddedWorker:
    async def test_it_starts_with_rare_full_collections_and_short_switches(
        self, inprocess_backend: Backend
    ) -> None:
        """The API process's own worker shares the interpreter with the API: it shortens the
        switch interval and makes the collector's full passes rare (each stops every thread;
        a job's chunks made them frequent and long)."""
        thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
        gc.set_threshold(700, 10, 10)  # the interpreter's defaults
        worker = EmbeddedWorker(
            inprocess_backend.url, handlers={}, chunk_rows=10, lease_ms=60_000, poll=60.0
        )
        try:
            await asyncio.to_thread(worker.start)
            assert gc.get_threshold() == (700, 10, embedded.FULL_COLLECTION_EVERY)
            assert sys.getswitchinterval() <= embedded.SWITCH_INTERVAL
        finally:
            await worker.stop()
            gc.set_threshold(*thresholds)
            sys.setswitchinterval(interval)
