"""Exports: accept (validate, enqueue the job), read, list, delete, download.

An export is a row of its own (`export`) plus an `EXPORT` job on the async-action queue; the
job's handler (exports/jobs.py) writes the CSV file into `export_piece` chunk by chunk and
moves the row SCHEDULED → IN_PROGRESS → DONE in the chunks' transactions. A job the worker
gives up on (FAILED) makes the export read as ERROR. The file is downloaded from
`result.url`, a path outside /v1 that carries the export's random token — as Voucherify's
download links, it needs no API keys — made absolute with the host the client used.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET, Raw

from patrons.async_actions import service as async_actions
from patrons.core import pagination
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, InvalidQueryParams, NotFound, PatronsError
from patrons.core.errors import Unauthorized as _Unauthorized
from patrons.core.filters import Rule
from patrons.db.database import Conn, Database, Row
from patrons.exports import filters, repository
from patrons.exports.fields import KINDS, Kind, getter
from patrons.exports.schemas import Export, ExportCreate, ExportList, ExportResult

EXPORT_JOB = "EXPORT"
DOWNLOAD_PREFIX = "/downloads/exports"
MAX_FIELDS = 200
FIELD_MAX_CHARS = 300
PIECES_PER_DELETE = 8  # 1 MiB pieces deleted per transaction (SQLite zeroes freed pages)
_ALNUM = string.ascii_letters + string.digits


class InvalidExportFields(PatronsError):
    """A field the exported object does not have (the spec's e_400_invalid_export_fields)."""

    status = 400
    key = "invalid_export_fields"
    message = "Invalid Export"


class BadToken(_Unauthorized):
    """The download's token is not this export's (the spec's download-export 401)."""


def export_id() -> str:
    return "exp_" + "".join(secrets.choice(_ALNUM) for _ in range(24))


@dataclass(frozen=True, slots=True)
class Plan:
    """What the job reads and writes, from the stored parameters."""

    kind: Kind
    fields: tuple[str, ...]
    sort: str
    descending: bool
    rule: Rule | None


def plan_of(exported_object: str, parameters: dict[str, Any]) -> Plan:
    """The plan for validated parameters (as stored: fields filled in, order as given)."""
    kind = KINDS[exported_object]
    order = parameters.get("order") or kind.default_order
    return Plan(
        kind=kind,
        fields=tuple(parameters["fields"]),
        sort=order.lstrip("-"),
        descending=order.startswith("-"),
        rule=filters.parse(exported_object, parameters.get("filters")),
    )


def accept(body: ExportCreate) -> tuple[str, dict[str, Any]]:
    """The exported object and the parameters to store (and echo), or a 400."""
    exported_object = body.exported_object
    if not isinstance(exported_object, str) or exported_object not in KINDS:
        raise InvalidPayload(
            "Property .exported_object should be equal to one of the allowed values"
            f" [ {', '.join(KINDS)} ]"
        )
    kind = KINDS[exported_object]
    given = body.parameters if body.parameters not in (UNSET, None) else None
    stored: dict[str, Any] = {}
    fields = given.fields if given is not None else None
    if fields in (UNSET, None) or fields == []:
        fields = list(kind.defaults)
    assert isinstance(fields, list)
    if len(fields) > MAX_FIELDS:
        raise InvalidExportFields(f"At most {MAX_FIELDS} fields can be exported.")
    unknown = [f for f in fields if len(f) > FIELD_MAX_CHARS or getter(kind, f) is None]
    if unknown:
        raise InvalidExportFields(
            "Unsupported field used. Allowed fields: " + ", ".join((*kind.fields, "metadata.<key>"))
        )
    order = given.order if given is not None else None
    if isinstance(order, str) and order:
        allowed = [v for o in kind.orders for v in (o, "-" + o)]
        if order not in allowed:
            raise InvalidPayload(
                "Property .parameters.order should be equal to one of the allowed values"
                f" [ {', '.join(allowed)} ]"
            )
        stored["order"] = order
    stored["fields"] = fields
    raw_filters = given.filters if given is not None else None
    if raw_filters in (UNSET, None):
        raw_filters = {"junction": "and"}
    filters.parse(exported_object, raw_filters)  # a 400 now, never a failed job later
    stored["filters"] = raw_filters
    response_format = given.response_format if given is not None else None
    if response_format not in (UNSET, None):
        if response_format != "CSV":
            raise InvalidPayload(
                "Property .parameters.response_format should be equal to one of the allowed"
                " values [ CSV ]"
            )
        stored["response_format"] = response_format
    return exported_object, stored


def download_path(row: Row) -> str:
    return f"{DOWNLOAD_PREFIX}/{row['project_id']}/{row['id']}?token={row['token']}"


def status_of(row: Row) -> str:
    if row["status"] == "DONE":
        return "DONE"
    if row["action_status"] in ("FAILED", None):  # given up on (or its job is gone)
        return "ERROR"
    if row["status"] == "IN_PROGRESS" or row["action_status"] == "IN_PROGRESS":
        return "IN_PROGRESS"
    return "SCHEDULED"


def to_wire(row: Row, *, base_url: str) -> Export:
    status = status_of(row)
    result = None
    if status == "DONE":
        result = ExportResult(url=base_url.rstrip("/") + download_path(row))
    parameters = row["parameters"]
    if not isinstance(parameters, str):  # decoded JSON
        parameters = msgspec.json.encode(parameters).decode()
    return Export(
        id=row["id"],
        created_at=format_ms(row["created_at"]),
        status=status,
        channel=row["channel"],
        exported_object=row["exported_object"],
        parameters=Raw(parameters.encode()),
        result=result,
    )


async def create(
    conn: Conn, *, project_id: str, body: ExportCreate, request_id: str | None, base_url: str
) -> Export:
    exported_object, parameters = accept(body)
    new_id = export_id()
    action_id = await async_actions.enqueue(
        conn,
        project_id=project_id,
        type_=EXPORT_JOB,
        request_id=request_id,
        payload=msgspec.json.encode({"export_id": new_id}),
    )
    await repository.insert(
        conn,
        project_id=project_id,
        export_id=new_id,
        exported_object=exported_object,
        channel="API",
        parameters=msgspec.json.encode(parameters).decode(),
        action_id=action_id,
        token=secrets.token_urlsafe(24),
        now=now_ms(),
    )
    row = await repository.get(conn, project_id=project_id, export_id=new_id)
    assert row is not None
    return to_wire(row, base_url=base_url)


async def _row(db: Database | Conn, *, project_id: str, export_id: str) -> Row:
    row = await repository.get(db, project_id=project_id, export_id=export_id)
    if row is None:
        raise NotFound("export", export_id)
    return row


async def get(db: Database, *, project_id: str, export_id: str, base_url: str) -> Export:
    row = await _row(db, project_id=project_id, export_id=export_id)
    return to_wire(row, base_url=base_url)


_LIST_ORDERS = ("created_at", "-created_at", "status", "-status")


async def list_(
    db: Database, *, project_id: str, params: dict[str, str], base_url: str
) -> ExportList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=100)
    order = params.get("order") or "-created_at"
    if order not in _LIST_ORDERS:
        raise InvalidQueryParams(
            "Property .order should be equal to one of the allowed values"
            f" [ {', '.join(_LIST_ORDERS)} ]"
        )
    rows = await repository.list_(
        db,
        project_id=project_id,
        order=order,
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await repository.count(db, project_id=project_id)
    return ExportList(exports=[to_wire(r, base_url=base_url) for r in rows], total=total)


async def delete(db: Database, *, project_id: str, export_id: str) -> None:
    """The export at once (a running job then stops at its next chunk), then its file a few
    pieces per transaction: a whole 100 MB file in one transaction would be 100 MB of WAL."""
    async with db.transaction() as conn:
        if not await repository.delete(conn, project_id=project_id, export_id=export_id):
            raise NotFound("export", export_id)
    await drop_pieces(db, project_id=project_id, export_id=export_id)


async def drop_pieces(db: Database, *, project_id: str, export_id: str) -> None:
    while True:
        async with db.transaction() as conn:
            deleted = await repository.delete_pieces(
                conn, project_id=project_id, export_id=export_id, limit=PIECES_PER_DELETE
            )
        await db.after_bulk_write()
        if deleted < PIECES_PER_DELETE:
            return


async def download(
    db: Database, *, project_id: str, export_id: str, token: str
) -> tuple[Row, AsyncIterator[bytes]]:
    """The finished export and its CSV file in pieces (one 1 MiB piece in memory at a time).
    404 for an unknown or unfinished export, 401 for a token that is not the export's."""
    row = await _row(db, project_id=project_id, export_id=export_id)
    if not secrets.compare_digest(token.encode(), row["token"].encode()):
        raise BadToken()
    if status_of(row) != "DONE":
        raise NotFound("export", export_id)
    return row, _pieces(db, project_id=project_id, export_id=export_id, count=row["piece_count"])


async def _pieces(
    db: Database, *, project_id: str, export_id: str, count: int
) -> AsyncIterator[bytes]:
    for seq in range(count):
        data = await repository.piece(db, project_id=project_id, export_id=export_id, seq=seq)
        if data is None:  # deleted while being downloaded
            return
        yield data
