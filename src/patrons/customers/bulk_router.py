"""/v1/customers/importCSV, /bulk/async, /metadata/async: validate, store, enqueue, 202."""

from __future__ import annotations

from typing import IO

import msgspec
from litestar import Request, post

from patrons.async_actions import service as async_actions
from patrons.async_actions.schemas import AsyncActionCreated
from patrons.core.errors import InvalidPayload
from patrons.customers.csv_upload import CsvUpload
from patrons.customers.jobs import BULK_UPDATE, IMPORT_CSV, METADATA_UPDATE, BulkItem, MetadataBulk
from patrons.db.database import Database
from patrons.http.requests import read_json, request_id_of
from patrons.projects.service import Project


async def _enqueue(
    request: Request, db: Database, project: Project, type_: str, data: bytes | IO[bytes]
) -> AsyncActionCreated:
    async with db.transaction() as conn:
        action_id = await async_actions.enqueue(
            conn,
            project_id=project.id,
            type_=type_,
            request_id=request_id_of(request),
            payload=data,
        )
    return AsyncActionCreated(async_action_id=action_id)


@post("/importCSV", status_code=202)
async def import_customers_csv(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    upload = CsvUpload()
    try:
        await upload.receive(request.headers.get("content-type", ""), request.stream())
        return await _enqueue(request, db, project, IMPORT_CSV, upload.spool)
    finally:
        upload.close()


@post("/bulk/async", status_code=202)
async def update_customers_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    items = await read_json(request, list[BulkItem])
    if not items:
        raise InvalidPayload("Property . must NOT have fewer than 1 items")
    # An empty source_id is a valid string on the wire: that row fails in the job's result
    # (`errors[]`), the others are written.
    lines = [b'"bulk"', *(msgspec.json.encode(item) for item in items)]
    return await _enqueue(request, db, project, BULK_UPDATE, b"\n".join(lines) + b"\n")


@post("/metadata/async", status_code=202)
async def update_customers_metadata_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    body = await read_json(request, MetadataBulk)
    if not body.source_ids:
        raise InvalidPayload("Property .source_ids must NOT have fewer than 1 items")
    lines = [msgspec.json.encode(body.metadata), *map(msgspec.json.encode, body.source_ids)]
    return await _enqueue(request, db, project, METADATA_UPDATE, b"\n".join(lines) + b"\n")


HANDLERS = [import_customers_csv, update_customers_in_bulk, update_customers_metadata_in_bulk]
