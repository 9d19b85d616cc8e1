"""Async actions: enqueue (in the caller's transaction), get, list."""

from __future__ import annotations

from typing import IO

import msgspec
from msgspec import UNSET, Raw

from patrons.async_actions import repository
from patrons.async_actions.payload import read_pieces, split_pieces
from patrons.async_actions.schemas import AsyncAction, AsyncActionList
from patrons.core import ids, pagination
from patrons.core.clock import format_ms, now_ms, parse_datetime_ms
from patrons.core.errors import InvalidQueryParams, NotFound
from patrons.db import database
from patrons.db.database import Conn, Database, Row

# Workers listen here; every enqueue notifies it once its transaction commits.
JOBS_CHANNEL = "patrons_jobs"
# Types whose finished action carries operation_status (WIRE-FORMAT §3.7).
_WITH_OPERATION_STATUS = {"CUSTOMERS.BULK_UPDATE", "CUSTOMERS.METADATA_UPDATE"}


async def enqueue(
    conn: Conn, *, project_id: str, type_: str, request_id: str | None, payload: bytes | IO[bytes]
) -> str:
    """The job row and its stored payload, written in the request's transaction.

    A file payload is copied one piece at a time, so no whole upload is ever held in memory.
    """
    action_id = ids.async_action_id()
    if isinstance(payload, bytes):
        size = len(payload)
        pieces = split_pieces(payload)
    else:
        size = payload.seek(0, 2)
        payload.seek(0)
        pieces = read_pieces(payload)
    await repository.insert(
        conn,
        project_id=project_id,
        action_id=action_id,
        type_=type_,
        request_id=request_id,
        payload_bytes=size,
        created_at=now_ms(),
    )
    for piece in pieces:
        await repository.insert_payload(
            conn, project_id=project_id, action_id=action_id, pieces=[piece]
        )
    await database.notify(conn, JOBS_CHANNEL)  # an idle worker claims it at once
    return action_id


def async_action_to_wire(row: Row, *, with_result: bool) -> AsyncAction:
    started, finished = row["started_at"], row["finished_at"]
    if started is None:
        processing_time = 0
    else:
        processing_time = (finished if finished is not None else now_ms()) - started
    action = AsyncAction(
        id=row["id"],
        type=row["type"],
        status=row["status"],
        created_at=format_ms(row["created_at"]),
        updated_at=UNSET if row["updated_at"] is None else format_ms(row["updated_at"]),
        request_id=row["request_id"],
        processing_time=max(0, processing_time),
        progress=int(row["progress"]),
    )
    if row["operation_status"] is not None and row["type"] in _WITH_OPERATION_STATUS:
        action.operation_status = row["operation_status"]
    if with_result and row["result"]:
        action.result = Raw(row["result"].encode())
    return action


async def get(db: Database, *, project_id: str, action_id: str) -> AsyncAction:
    row = await repository.get(db, project_id=project_id, action_id=action_id)
    if row is None:
        raise NotFound("async_action", action_id)
    return async_action_to_wire(row, with_result=True)


async def list_(db: Database, *, project_id: str, params: dict[str, str]) -> AsyncActionList:
    limit = pagination.parse_limit(params.get("limit"))
    end_date = None
    if params.get("end_date"):
        try:
            end_date = parse_datetime_ms(params["end_date"])
        except ValueError:
            raise InvalidQueryParams(
                "Property .end_date cannot be recognized as a ISO-8601 compliant date"
            ) from None
    rows = await repository.list_(
        db, project_id=project_id, limit=pagination.fetch_size(limit), end_date=end_date
    )
    page, has_more = pagination.split(rows, limit)
    return AsyncActionList(
        async_actions=[async_action_to_wire(r, with_result=False) for r in page],
        has_more=has_more,
    )


def encode_result(result: dict) -> str:
    return msgspec.json.encode(result).decode()
