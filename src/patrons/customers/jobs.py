"""The three customer job types, one handler each: how a stored row becomes a customer write,
and what the finished job reports. Writing a chunk is shared (`CustomerJob.apply`)."""

from __future__ import annotations

from typing import Any

import msgspec

from patrons.async_actions import reports
from patrons.async_actions.handlers import (
    Applied,
    Chunk,
    Failure,
    Job,
    PayloadRows,
    Summary,
    Totals,
    record_failures,
    reported_failures,
)
from patrons.core import limits
from patrons.core.clock import format_ms
from patrons.core.origin import Origin
from patrons.customers import bulk_writer, checks, importer
from patrons.customers.bulk_writer import MERGE_METADATA, PATCH, REPLACE, RowWrite
from patrons.customers.schemas import CustomerUpdate
from patrons.customers.service import column_changes
from patrons.db import dialect
from patrons.db.database import Conn, Database
from patrons.db.savepoint import refuses_row, savepoint

IMPORT_CSV = "CUSTOMERS.IMPORT_CSV"
BULK_UPDATE = "CUSTOMERS.BULK_UPDATE"
METADATA_UPDATE = "CUSTOMERS.METADATA_UPDATE"

# A bulk or metadata row whose source_id is "" identifies no customer: it fails on its own.
EMPTY_SOURCE_ID = "source_id must NOT be empty"


class BulkItem(CustomerUpdate, kw_only=True):
    """One element of POST /v1/customers/bulk/async (`source_id` is required)."""

    source_id: str


class CustomerJob(PayloadRows[Any, RowWrite]):
    """Upserts the converted rows by source_id (`mode`: how a row changes an existing
    customer), with their events and segment upkeep, in the chunk's transaction.

    Rows were checked against the field limits when converted, so the database should take
    them all; should it still refuse one, the chunk is split in halves (each under a
    savepoint) until the refused row is isolated: that row fails, the others are written.
    """

    mode: str
    # Where writers run concurrently, the worker starts the next chunk once this one's rows
    # and counters are written (`Chunk.written`: the created_at the next one starts after).
    overlaps = True

    async def apply(
        self, conn: Conn, job: Job, chunk: Chunk[list[RowWrite]], *, now: int
    ) -> Applied:
        if not chunk.work:
            return Applied(done=0)
        rows = chunk.work  # arranged (`arrange`): rows repeating a source_id merged
        failures: list[Failure] = []
        created = await self._write(conn, job, chunk, rows, failures, now=now)
        if chunk.written is not None:  # after a split (see `_write`), or with no row written
            chunk.written(_next_after(rows, chunk.after))
        await record_failures(conn, job, failures)
        given = sum(1 + len(row.merged_rows) for row in rows)
        return Applied(done=given - len(failures), created=created, failed=len(failures))

    def arrange(self, work: list[RowWrite]) -> list[RowWrite]:
        return bulk_writer.arrange(work, self.mode)

    async def _write(
        self,
        conn: Conn,
        job: Job,
        chunk: Chunk[list[RowWrite]],
        rows: list[RowWrite],
        failures: list[Failure],
        *,
        now: int,
        whole: bool = True,
    ) -> int:
        """Write `rows` (or, when the database refuses them, each half); the rows created.
        The next chunk may start (`Chunk.written`) once the whole chunk's rows are written, not
        before its events: a half written after it had started could wait on its rows."""
        try:
            async with savepoint(conn):
                written = await bulk_writer.write_chunk(
                    conn,
                    project_id=job.project_id,
                    rows=rows,
                    mode=self.mode,
                    now=now,
                    arranged=True,
                    after=chunk.after,
                )
                if whole and chunk.written is not None:
                    chunk.written(_next_after(written, chunk.after))
                await bulk_writer.record_written(
                    conn,
                    project_id=job.project_id,
                    rows=written,
                    origin=Origin(request_id=job.request_id),
                    now=now,
                )
        except Exception as exc:
            if not refuses_row(exc):
                raise  # transient (deadlock, lost connection …): the chunk is retried whole
            if len(rows) > 1:
                half = len(rows) // 2
                first, second = rows[:half], rows[half:]
                return await self._write(
                    conn, job, chunk, first, failures, now=now, whole=False
                ) + await self._write(conn, job, chunk, second, failures, now=now, whole=False)
            reason = f"the database refused the row: {_first_line(exc)}"
            failures += [
                Failure(row_no, rows[0].source_id, reason)
                for row_no in (rows[0].row_no, *rows[0].merged_rows)
            ]
            return 0
        return sum(1 for row in written if row.inserted)

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary:
        failures = await reported_failures(conn, job)
        result = self.result(totals, failures, now=now)
        # The full list of failed rows, as a CSV behind a token URL (async_actions/reports.py).
        if "reports" in result or totals.failed:
            result["reports"] = [reports.new_report(job.project_id, job.id)]
            result["reports_available_till"] = format_ms(now + reports.KEPT_MS)
        # Beyond Voucherify's shape (clients ignore unknown keys): created vs updated rows.
        result["created_count"] = totals.created
        failed_only = totals.failed and not totals.done
        return Summary(result, "FAILED" if failed_only else "SUCCESS")

    def result(self, totals: Totals, failures: list[Failure], *, now: int) -> dict[str, Any]:
        """The finished job's `result` in Voucherify's shape for this type."""
        raise NotImplementedError


class ImportCsv(CustomerJob):
    type = IMPORT_CSV
    as_csv = True
    mode = REPLACE

    # Whether new customers' event snapshots are built from their values (where the database
    # has COPY: see bulk_writer.record_written); then `convert` encodes most of each row's.
    snapshots = False

    def prepare(self, header: Any) -> importer.Mapping:
        return importer.map_header(header)

    async def read_chunk(self, db: Database, job: Job, *, max_rows: int) -> Chunk[list[RowWrite]]:
        self.snapshots = not dialect.one_writer_at_a_time(db.kind)  # one database per process
        return await super().read_chunk(db, job, max_rows=max_rows)

    def convert(self, context: importer.Mapping, raw: Any, row_no: int) -> RowWrite | Failure:
        """On the converting thread: a CSV row replaces the customer whole, so what inserting
        it whole needs is built here, off the chunk's transaction (bulk_writer.prepare)."""
        result = limits.cells_problem(raw) or importer.to_row_write(context, raw, row_no)
        if isinstance(result, RowWrite):
            result = checks.problem(result.changes, source_id=result.source_id) or result
        if isinstance(result, RowWrite):
            return bulk_writer.prepare(result, snapshot=self.snapshots)
        return Failure(row_no, _csv_source(context, raw), result)

    def result(self, totals: Totals, failures: list[Failure], *, now: int) -> dict[str, Any]:
        return {
            "message": f"{totals.done} customer(s) imported successfully, {totals.failed} failed.",
            "failed": [
                {"source_id": f.source_id or "", "row": f.row_no, "reason": f.reason}
                for f in failures
            ],
            "done_count": totals.done,
            "failed_count": totals.failed,
        }


def _next_after(rows: list[RowWrite], after: int | None) -> int | None:
    """The lowest created_at the job's next chunk may give: after every one given here."""
    stamps = [row.created_at for row in rows if row.created_at]
    return max(stamps) + 1 if stamps else after


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def _csv_source(mapping: importer.Mapping, raw: list[str]) -> str | None:
    for (kind, target), value in zip(mapping, raw, strict=False):
        if kind == "column" and target == "source_id":
            return value or None
    return None


class UpdateJob(CustomerJob):
    """The JSON-lines update jobs, which report in the bulk-update shape."""

    def result(self, totals: Totals, failures: list[Failure], *, now: int) -> dict[str, Any]:
        return {
            "done_count": totals.done,
            "failed_count": totals.failed,
            "reports": [],  # set by `summarise`
            "reports_available_till": "",
            "errors": [
                {
                    "message": "Customer could not be updated",
                    "details": f.reason,
                    "key": "invalid_customer",
                    "source_id": f.source_id,
                }
                for f in failures
            ],
        }


class BulkUpdate(UpdateJob):
    """Header `"bulk"`, then one BulkItem per line: the given fields change."""

    type = BULK_UPDATE
    mode = PATCH

    def prepare(self, header: Any) -> None:
        return None

    def convert(self, context: None, raw: Any, row_no: int) -> RowWrite | Failure:
        item = msgspec.json.decode(raw, type=BulkItem)
        if not item.source_id:
            return Failure(row_no, item.source_id, EMPTY_SOURCE_ID)
        changes = column_changes(item)
        reason = checks.problem(changes, source_id=item.source_id)
        if reason is not None:
            return Failure(row_no, item.source_id, reason)
        return RowWrite(row_no, item.source_id, changes)


class MetadataUpdate(UpdateJob):
    """Header: the metadata to merge; then one source_id (a JSON string) per line."""

    type = METADATA_UPDATE
    mode = MERGE_METADATA

    def prepare(self, header: Any) -> dict[str, Any]:
        return msgspec.json.decode(header)

    def convert(self, context: dict[str, Any], raw: Any, row_no: int) -> RowWrite | Failure:
        source_id = msgspec.json.decode(raw, type=str)
        if not source_id:
            return Failure(row_no, source_id, EMPTY_SOURCE_ID)
        reason = limits.text_problem("source_id", source_id)
        if reason is not None:
            return Failure(row_no, source_id, reason)
        return RowWrite(row_no, source_id, {"metadata": dict(context)})
