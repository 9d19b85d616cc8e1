"""The three customer job types, one handler each: how a stored row becomes a customer write,
and what the finished job reports. Writing a chunk is shared (`CustomerJob.apply`)."""

from __future__ import annotations

from typing import Any

import msgspec

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
from patrons.core.clock import format_ms
from patrons.core.origin import Origin
from patrons.customers import bulk_writer, importer
from patrons.customers.bulk_writer import MERGE_METADATA, PATCH, REPLACE, RowWrite
from patrons.customers.schemas import CustomerUpdate
from patrons.customers.service import column_changes
from patrons.db.database import Conn

IMPORT_CSV = "CUSTOMERS.IMPORT_CSV"
BULK_UPDATE = "CUSTOMERS.BULK_UPDATE"
METADATA_UPDATE = "CUSTOMERS.METADATA_UPDATE"

# A bulk or metadata row whose source_id is "" identifies no customer: it fails on its own.
EMPTY_SOURCE_ID = "source_id must NOT be empty"
REPORTS_KEPT_MS = 7 * 86_400_000  # `reports_available_till`: a week after the job finished


class BulkItem(CustomerUpdate, kw_only=True):
    """One element of POST /v1/customers/bulk/async (`source_id` is required)."""

    source_id: str


class MetadataBulk(msgspec.Struct):
    source_ids: list[str]
    metadata: dict[str, Any]


class CustomerJob(PayloadRows[Any, RowWrite]):
    """Upserts the converted rows by source_id (`mode`: how a row changes an existing
    customer), with their events and segment upkeep, in the chunk's transaction."""

    mode: str

    async def apply(
        self, conn: Conn, job: Job, chunk: Chunk[list[RowWrite]], *, now: int
    ) -> Applied:
        if not chunk.work:
            return Applied(done=0)
        written = await bulk_writer.write_chunk(
            conn, project_id=job.project_id, rows=chunk.work, mode=self.mode, now=now
        )
        await bulk_writer.record_written(
            conn,
            project_id=job.project_id,
            rows=written,
            origin=Origin(request_id=job.request_id),
            now=now,
        )
        return Applied(done=len(chunk.work), created=sum(1 for row in written if row.inserted))

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary:
        failures = await reported_failures(conn, job)
        result = self.result(totals, failures, now=now)
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

    def prepare(self, header: Any) -> importer.Mapping:
        return importer.map_header(header)

    def convert(self, context: importer.Mapping, raw: Any, row_no: int) -> RowWrite | Failure:
        result = importer.to_row_write(context, raw, row_no)
        if isinstance(result, RowWrite):
            return result
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
            "reports": [],
            "reports_available_till": format_ms(now + REPORTS_KEPT_MS),
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
        return RowWrite(row_no, item.source_id, column_changes(item))


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
        return RowWrite(row_no, source_id, {"metadata": dict(context)})
