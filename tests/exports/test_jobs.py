"""The EXPORT job handler in process, on both databases: chunks continue from the committed
keyset position (a chunk read again after a lost lease is the same chunk), and an export
deleted before or during its job writes nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import msgspec
import pytest

from patrons.async_actions import repository as actions
from patrons.async_actions.handlers import Job, JobCannotRun, Totals
from patrons.db.database import Conn
from patrons.exports import repository, service
from patrons.exports.jobs import ExportJob
from patrons.exports.schemas import ExportCreate
from patrons.projects.service import Credentials
from tests.factories import add_customer


async def _start(conn: Conn, tenant: Credentials, **parameters: object) -> tuple[str, Job]:
    body = msgspec.convert({"exported_object": "customer", "parameters": parameters}, ExportCreate)
    export = await service.create(
        conn, project_id=tenant.project_id, body=body, request_id=None, base_url="http://x"
    )
    row = await repository.get(conn, project_id=tenant.project_id, export_id=export.id)
    assert row is not None
    action = await actions.get(conn, project_id=tenant.project_id, action_id=row["action_id"])
    assert action is not None
    return export.id, Job.of(action)


async def _file(conn: Conn, tenant: Credentials, export_id: str) -> list[list[str]]:
    row = await repository.get(conn, project_id=tenant.project_id, export_id=export_id)
    assert row is not None
    data = b""
    for seq in range(row["piece_count"]):
        piece = await repository.piece(
            conn, project_id=tenant.project_id, export_id=export_id, seq=seq
        )
        assert piece is not None
        data += piece
    return list(csv.reader(io.StringIO(data.decode())))


async def test_chunks_continue_from_the_committed_position(conn: Conn, tenant: Credentials):
    for i in range(8):
        await add_customer(conn, tenant, source_id=f"s{i}", name=None if i % 3 else f"n{i}")
    export_id, job = await _start(conn, tenant, fields=["source_id"], order="-name")
    handler = ExportJob()

    chunks = 0
    while True:
        chunk = await handler.read_chunk(conn, job, max_rows=3)  # type: ignore[arg-type]
        again = await handler.read_chunk(conn, job, max_rows=3)  # type: ignore[arg-type]
        assert again.work == chunk.work  # a lost lease re-reads exactly the same chunk
        applied = await handler.apply(conn, job, chunk, now=1)
        assert applied.done == chunk.work.rows
        job = replace(job, bytes_done=chunk.bytes_done, rows_done=chunk.rows_done)
        chunks += 1
        if chunk.last:
            break
    await handler.summarise(conn, job, Totals(done=job.rows_done, failed=0, created=0), now=2)

    assert chunks == 3
    rows = await _file(conn, tenant, export_id)
    # names n6, n3, n0 first (descending), then the NULL names, ids descending among them
    assert rows[0] == ["source_id"]
    assert [r[0] for r in rows[1:4]] == ["s6", "s3", "s0"]
    assert sorted(r[0] for r in rows[1:]) == [f"s{i}" for i in range(8)]
    row = await repository.get(conn, project_id=tenant.project_id, export_id=export_id)
    assert row is not None
    assert (row["status"], row["row_count"]) == ("DONE", 8)


async def test_a_deleted_export_writes_nothing(conn: Conn, tenant: Credentials):
    await add_customer(conn, tenant, source_id="gone")
    export_id, job = await _start(conn, tenant)
    handler = ExportJob()
    chunk = await handler.read_chunk(conn, job, max_rows=10)  # type: ignore[arg-type]
    assert chunk.work.rows == 1

    # deleted between the read and the chunk's transaction
    assert await repository.delete(conn, project_id=tenant.project_id, export_id=export_id)
    applied = await handler.apply(conn, job, chunk, now=1)

    assert applied.done == 0
    assert (
        await repository.piece(conn, project_id=tenant.project_id, export_id=export_id, seq=0)
        is None
    )
    # and a chunk read after the deletion is the last, empty one
    after = await handler.read_chunk(conn, job, max_rows=10)  # type: ignore[arg-type]
    assert (after.last, after.work.export_id, after.work.rows) == (True, None, 0)


async def test_unusable_parameters_fail_the_job_at_once(conn: Conn, tenant: Credentials):
    export_id, job = await _start(conn, tenant)
    await conn.execute(
        "UPDATE export SET parameters = $3 WHERE project_id = $1 AND id = $2",
        tenant.project_id,
        export_id,
        '{"fields": ["shoe_size"]}',
    )

    with pytest.raises(JobCannotRun, match="shoe_size"):
        await ExportJob().read_chunk(conn, job, max_rows=10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "job", "shown"),
    [
        ("SCHEDULED", "ENQUEUED", "SCHEDULED"),
        ("SCHEDULED", "IN_PROGRESS", "IN_PROGRESS"),  # claimed, first chunk not committed yet
        ("IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS"),
        ("IN_PROGRESS", "ENQUEUED", "IN_PROGRESS"),
        ("IN_PROGRESS", "FAILED", "ERROR"),  # the worker gave up on it
        ("SCHEDULED", None, "ERROR"),  # its job is gone
        ("DONE", "DONE", "DONE"),
        ("DONE", None, "DONE"),
    ],
)
def test_the_status_shown(stored: str, job: str | None, shown: str):
    assert service.status_of({"status": stored, "action_status": job}) == shown  # type: ignore[arg-type]
