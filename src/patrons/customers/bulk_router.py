"""/v1/customers/importCSV, /bulk/async, /metadata/async: validate, store, enqueue, 202."""

from __future__ import annotations

import re
import shutil
import tempfile
from typing import IO, Any

import msgspec
from litestar import Request, post

from patrons.async_actions import service as async_actions
from patrons.async_actions.schemas import AsyncActionCreated
from patrons.core import limits
from patrons.core.errors import InvalidPayload
from patrons.customers import checks
from patrons.customers.csv_upload import CsvUpload
from patrons.customers.jobs import BULK_UPDATE, IMPORT_CSV, METADATA_UPDATE, BulkItem
from patrons.db.database import Database
from patrons.http.json_stream import json_pieces
from patrons.http.requests import request_id_of, validation_details
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


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=4 << 20)


def _invalid(exc: msgspec.MsgspecError, *, prefix: str, first: int = 0) -> InvalidPayload:
    """msgspec's error about a piece decoded as `[…]`, placed in the whole body: under
    `prefix`, its element index shifted by the `first` element of the piece."""
    message = str(exc)
    at = _INDEX.search(message)
    if at is not None:
        index = int(at.group(1)) + first
        message = message[: at.start()] + f" - at `${prefix}[{index}]" + message[at.end() :]
    elif " - at `$" in message:
        message = message.replace(" - at `$", f" - at `${prefix}", 1)
    else:
        message += f" - at `${prefix}`"
    return InvalidPayload(validation_details(msgspec.ValidationError(message)))


NOT_UTF8 = "Payload must be UTF-8 encoded JSON"
_INDEX = re.compile(r" - at `\$\[(\d+)\]")


@post("/bulk/async", status_code=202)
async def update_customers_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    """The body is read as a stream (http/json_stream.py): items are validated and stored as
    JSON lines as they arrive, so memory holds a piece of the body, never all of it."""
    with _spool() as lines:
        lines.write(b'"bulk"\n')
        count = 0
        async for key, raw, _ in json_pieces(request):
            if key is not None:
                raise InvalidPayload("Payload: Expected `array`, got `object`")
            try:
                items = msgspec.json.decode(b"[" + raw + b"]", type=list[BulkItem])
            except msgspec.MsgspecError as exc:
                raise _invalid(exc, prefix="", first=count) from None
            except UnicodeDecodeError:  # msgspec raises it (not a DecodeError) for bad UTF-8
                raise InvalidPayload(NOT_UTF8) from None
            # An empty source_id is a valid string on the wire: that row fails in the job's
            # result (`errors[]`), the others are written. Field limits are checked per row.
            for item in items:
                lines.write(msgspec.json.encode(item) + b"\n")
            count += len(items)
        if not count:
            raise InvalidPayload("Property . must NOT have fewer than 1 items")
        return await _enqueue(request, db, project, BULK_UPDATE, lines)


@post("/metadata/async", status_code=202)
async def update_customers_metadata_in_bulk(
    request: Request, db: Database, project: Project
) -> AsyncActionCreated:
    """`source_ids` is read as a stream; `metadata` is read whole (it is bounded by the field
    limits) and becomes the payload's header row."""
    metadata: dict[str, Any] | None = None
    with _spool() as ids, _spool() as payload:
        count = 0
        async for key, raw, elements in json_pieces(request, stream_key="source_ids"):
            if key == "source_ids" and elements:
                try:
                    source_ids = msgspec.json.decode(b"[" + raw + b"]", type=list[str])
                except msgspec.MsgspecError as exc:
                    raise _invalid(exc, prefix=".source_ids", first=count) from None
                except UnicodeDecodeError:
                    raise InvalidPayload(NOT_UTF8) from None
                for source_id in source_ids:
                    ids.write(msgspec.json.encode(source_id) + b"\n")
                count += len(source_ids)
            elif key == "metadata":
                try:
                    metadata = msgspec.json.decode(raw, type=dict[str, Any])
                except msgspec.MsgspecError as exc:
                    raise _invalid(exc, prefix=".metadata") from None
                except UnicodeDecodeError:
                    raise InvalidPayload(NOT_UTF8) from None
            elif key is None:
                raise InvalidPayload("Payload: Expected `object`, got `array`")
        if metadata is None:
            raise InvalidPayload("Payload: Object missing required field `metadata`")
        if not count:
            raise InvalidPayload("Property .source_ids must NOT have fewer than 1 items")
        reason = limits.metadata_problem(metadata)
        if reason is not None:  # it would fail every row: refused before any job exists
            raise InvalidPayload(checks.as_property(reason))
        payload.write(msgspec.json.encode(metadata) + b"\n")
        ids.seek(0)
        shutil.copyfileobj(ids, payload)
        return await _enqueue(request, db, project, METADATA_UPDATE, payload)


HANDLERS = [import_customers_csv, update_customers_in_bulk, update_customers_metadata_in_bulk]
