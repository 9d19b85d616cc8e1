"""/v1/customers/importCSV, /bulk/async, /metadata/async: validate, store, enqueue, 202."""

from __future__ import annotations

import codecs
import csv
import io

import msgspec
from litestar import Request, post
from litestar.datastructures import UploadFile

from patrons.api.requests import read_json
from patrons.async_actions import service as async_actions
from patrons.async_actions.schemas import AsyncActionCreated
from patrons.core.errors import InvalidPayload
from patrons.customers import importer
from patrons.customers.jobs import BULK_UPDATE, IMPORT_CSV, METADATA_UPDATE, BulkItem, MetadataBulk
from patrons.db.database import Database
from patrons.projects.service import Project

NO_FILE = "Payload should have required property 'file'"


async def _enqueue(
    request: Request, db: Database, project: Project, type_: str, data: bytes
) -> AsyncActionCreated:
    async with db.transaction() as conn:
        action_id = await async_actions.enqueue(
            conn,
            project_id=project.id,
            type_=type_,
            request_id=request.scope.get("patrons_request_id"),  # type: ignore[call-overload]
            payload=data,
        )
    return AsyncActionCreated(async_action_id=action_id)


def _check_csv(data: bytes) -> None:
    """Refuse what cannot be a CSV before any job exists: not UTF-8, NUL bytes, bad header."""
    if not data.strip():
        raise InvalidPayload("CSV file is empty")
    if b"\x00" in data:
        raise InvalidPayload("File is not a CSV: it contains NUL bytes")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidPayload("File is not a UTF-8 encoded CSV") from None
    first = data[: 1 << 16].decode("utf-8", errors="ignore")
    try:
        header = next(csv.reader(io.StringIO(first)), [])
    except csv.Error as exc:
        raise InvalidPayload(f"CSV header cannot be read: {exc}") from None
    importer.map_header(header)


@post("/importCSV", status_code=202)
async def import_customers_csv(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidPayload(NO_FILE)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidPayload(NO_FILE)
    data = await upload.read()
    _check_csv(data)
    return await _enqueue(request, db, project, IMPORT_CSV, data)


@post("/bulk/async", status_code=202)
async def update_customers_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    items = await read_json(request, list[BulkItem])
    if not items:
        raise InvalidPayload("Property . must NOT have fewer than 1 items")
    for index, item in enumerate(items):
        if not item.source_id:
            raise InvalidPayload(f"Property [{index}].source_id must NOT be empty")
    lines = [b'"bulk"', *(msgspec.json.encode(item) for item in items)]
    return await _enqueue(request, db, project, BULK_UPDATE, b"\n".join(lines) + b"\n")


@post("/metadata/async", status_code=202)
async def update_customers_metadata_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    body = await read_json(request, MetadataBulk)
    if not body.source_ids:
        raise InvalidPayload("Property .source_ids must NOT have fewer than 1 items")
    if any(not source_id for source_id in body.source_ids):
        raise InvalidPayload("Property .source_ids must not contain empty strings")
    lines = [msgspec.json.encode(body.metadata), *map(msgspec.json.encode, body.source_ids)]
    return await _enqueue(request, db, project, METADATA_UPDATE, b"\n".join(lines) + b"\n")


HANDLERS = [import_customers_csv, update_customers_in_bulk, update_customers_metadata_in_bulk]
