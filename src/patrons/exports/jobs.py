"""The EXPORT job: an export's CSV file, written chunk by chunk into `export_piece`.

A chunk is "the next N rows after the export's keyset position" (`after_key`: the last
written row's sort value and id), read outside any transaction. `apply` appends the chunk's
CSV bytes as new pieces (at most 1 MiB each) and moves `after_key` in the worker's
lease-checked chunk transaction, together with the job's checkpoint: a killed worker leaves
the whole chunk or none of it, and the next claim starts from the committed position — every
row lands in the file exactly once. Memory is one chunk of rows and its CSV text, whatever
the table size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from patrons.async_actions.handlers import (
    Applied,
    Chunk,
    Job,
    JobCannotRun,
    Summary,
    Totals,
    read_spec,
)
from patrons.async_actions.payload import split_pieces
from patrons.customers import export_repository as customer_rows
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.exports import filters, repository
from patrons.exports.fields import Writer
from patrons.exports.service import EXPORT_JOB, plan_of
from patrons.redeemables import export_repository as voucher_rows

Page = Callable[..., Awaitable[list[Row]]]
_PAGES: dict[str, Page] = {"customer": customer_rows.page, "voucher": voucher_rows.page}


@dataclass(frozen=True, slots=True)
class Work:
    export_id: str | None  # None: the export was deleted; nothing is written
    data: bytes
    rows: int
    after_key: str | None


def _decode(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


class ExportJob:
    type = EXPORT_JOB

    async def read_chunk(self, db: Database, job: Job, *, max_rows: int) -> Chunk[Work]:
        spec: dict[str, Any] = await read_spec(db, job)
        export_id = str(spec.get("export_id", ""))
        row = await repository.get(db, project_id=job.project_id, export_id=export_id)
        if row is None:
            return Chunk(Work(None, b"", 0, None), [], job.bytes_done, job.rows_done, 99, True)
        try:
            plan = plan_of(row["exported_object"], _decode(row["parameters"]))
            writer = Writer(plan.kind, plan.fields)
        except Exception as exc:  # checked when accepted: only a hand-edited row gets here
            raise JobCannotRun(f"the export's parameters cannot be used: {exc}") from exc
        where, args = filters.to_sql(plan.rule, kind=kind_of(db))
        after_key = row["after_key"]
        after = tuple(_decode(after_key)) if after_key else None
        rows = await _PAGES[plan.kind.name](
            db,
            project_id=job.project_id,
            where=where,
            where_args=args,
            sort=plan.sort,
            descending=plan.descending,
            after=after,
            limit=max_rows,
        )
        data = (writer.header() if row["piece_count"] == 0 else b"") + writer.rows(rows)
        if rows:
            last = rows[-1]
            after_key = msgspec.json.encode([last[plan.sort], last["id"]]).decode()
        return Chunk(
            work=Work(export_id, data, len(rows), after_key),
            failures=[],
            bytes_done=job.bytes_done + len(data),
            rows_done=job.rows_done + len(rows),
            progress=0,  # the row total is not counted up front (a filtered COUNT at 1M)
            last=len(rows) < max_rows,
        )

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[Work], *, now: int) -> Applied:
        work = chunk.work
        if work.export_id is None:
            return Applied(done=0)
        pieces = [data for _seq, data in split_pieces(work.data)]
        first = await repository.advance(
            conn,
            project_id=job.project_id,
            export_id=work.export_id,
            after_key=work.after_key,
            rows=work.rows,
            size=len(work.data),
            pieces=len(pieces),
            now=now,
        )
        if first is None:  # deleted since the chunk was read
            return Applied(done=0)
        await repository.insert_pieces(
            conn,
            project_id=job.project_id,
            export_id=work.export_id,
            pieces=[(first + i, data) for i, data in enumerate(pieces)],
        )
        return Applied(done=work.rows, created=work.rows)

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary:
        spec: dict[str, Any] = await read_spec(conn, job)
        export_id = str(spec.get("export_id", ""))
        await repository.finish(conn, project_id=job.project_id, export_id=export_id, now=now)
        return Summary(
            {"export_id": export_id, "message": f"{totals.done} row(s) exported."}, "SUCCESS"
        )
