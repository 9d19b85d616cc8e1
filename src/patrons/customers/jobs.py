"""The three customer job types: how each payload is stored and turned into row writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from patrons.customers import importer
from patrons.customers.bulk_writer import MERGE_METADATA, PATCH, REPLACE, RowWrite
from patrons.customers.schemas import CustomerUpdate

IMPORT_CSV = "CUSTOMERS.IMPORT_CSV"
BULK_UPDATE = "CUSTOMERS.BULK_UPDATE"
METADATA_UPDATE = "CUSTOMERS.METADATA_UPDATE"

# A bulk or metadata row whose source_id is "" identifies no customer: it fails on its own.
EMPTY_SOURCE_ID = "source_id must NOT be empty"


class BulkItem(CustomerUpdate, kw_only=True):
    """One element of POST /v1/customers/bulk/async (`source_id` is required)."""

    source_id: str


class MetadataBulk(msgspec.Struct):
    source_ids: list[str]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class JobKind:
    type: str
    as_csv: bool
    mode: str

    def prepare(self, header: Any) -> Any:
        """The payload's first row → what converting the data rows needs."""
        if self.type == IMPORT_CSV:
            return importer.map_header(header)
        if self.type == METADATA_UPDATE:
            return msgspec.json.decode(header)
        return None

    def convert(self, context: Any, raw: Any, row_no: int) -> tuple[RowWrite | str, str | None]:
        """One stored row → (RowWrite or failure reason, source_id for the report)."""
        if self.type == IMPORT_CSV:
            result = importer.to_row_write(context, raw, row_no)
            source_id = (
                result.source_id if isinstance(result, RowWrite) else _csv_source(context, raw)
            )
            return result, source_id
        if self.type == METADATA_UPDATE:
            source_id = msgspec.json.decode(raw, type=str)
            if not source_id:
                return EMPTY_SOURCE_ID, source_id
            return RowWrite(row_no, source_id, {"metadata": dict(context)}), source_id
        from patrons.customers.service import column_changes

        item = msgspec.json.decode(raw, type=BulkItem)
        if not item.source_id:
            return EMPTY_SOURCE_ID, item.source_id
        return RowWrite(row_no, item.source_id, column_changes(item)), item.source_id

    def result(self, *, done: int, failed: int, failures: list[Any], now_iso: str) -> dict:
        if self.type == IMPORT_CSV:
            return {
                "message": f"{done} customer(s) imported successfully, {failed} failed.",
                "failed": [
                    {"source_id": f["source_id"] or "", "row": f["row_no"], "reason": f["reason"]}
                    for f in failures
                ],
                "done_count": done,
                "failed_count": failed,
            }
        return {
            "done_count": done,
            "failed_count": failed,
            "reports": [],
            "reports_available_till": now_iso,
            "errors": [
                {
                    "message": "Customer could not be updated",
                    "details": f["reason"],
                    "key": "invalid_customer",
                    "source_id": f["source_id"],
                }
                for f in failures
            ],
        }


def _csv_source(mapping: importer.Mapping, raw: list[str]) -> str | None:
    for (kind, target), value in zip(mapping, raw, strict=False):
        if kind == "column" and target == "source_id":
            return value or None
    return None


KINDS = {
    IMPORT_CSV: JobKind(IMPORT_CSV, as_csv=True, mode=REPLACE),
    BULK_UPDATE: JobKind(BULK_UPDATE, as_csv=False, mode=PATCH),
    METADATA_UPDATE: JobKind(METADATA_UPDATE, as_csv=False, mode=MERGE_METADATA),
}
