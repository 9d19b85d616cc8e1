"""The job-handler seam: what a job type tells the worker, and the registry of job types.

The worker (worker/runner.py) holds the only copy of the lease protocol — claim, read a chunk,
apply it and checkpoint in one lease-checked transaction, finish or retry — and knows no job
type by name. A job type is one handler, registered by the composition root (patrons.assembly):

- `read_chunk`, outside any transaction: the next piece of work after the job's checkpoint,
  the rows that already failed, and the checkpoint to commit with it;
- `apply`, in the chunk's transaction: write the work, return the counts;
- `summarise`, in the last chunk's transaction: the finished job's result.

Most job types read rows from their stored payload (a header row, then one row per record):
`PayloadRows` does that reading, so such a type only says how to `prepare` the header, how to
`convert` a row and how to `apply` converted rows.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import msgspec

from patrons.async_actions import payload, repository
from patrons.db.database import Conn, Database, Row

# A worker's companion loop (e.g. webhook deliveries), run beside its job loop on the worker's
# database until the event is set; assembly.services() lists them, the worker runs them.
BackgroundService = Callable[[Database, asyncio.Event], Coroutine[Any, Any, None]]

W = TypeVar("W")  # a chunk's work, as the handler reads it and applies it
C = TypeVar("C")  # what a payload's header row prepares for converting its data rows
R = TypeVar("R")  # one converted payload row
REPORTED_FAILURES = 1000  # failed rows listed in a finished job's result


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job and its last committed checkpoint."""

    project_id: str
    id: str
    type: str
    request_id: str | None
    payload_bytes: int
    bytes_done: int
    rows_done: int
    attempts: int

    @classmethod
    def of(cls, row: Row) -> Job:
        return cls(
            project_id=row["project_id"],
            id=row["id"],
            type=row["type"],
            request_id=row["request_id"],
            payload_bytes=row["payload_bytes"],
            bytes_done=row["bytes_done"],
            rows_done=row["rows_done"],
            attempts=row["attempts"],
        )


class JobCannotRun(Exception):
    """Raised by a handler when the job as a whole cannot run (e.g. its header row is unusable):
    the worker fails the job at once with this reason instead of retrying it."""


class Failure(NamedTuple):
    """A row that fails on its own (the job carries on): reported in the job's result."""

    row_no: int
    source_id: str | None
    reason: str


@dataclass(slots=True)
class Chunk(Generic[W]):
    work: W
    failures: list[Failure]
    bytes_done: int  # the checkpoint committed with this chunk: payload offset …
    rows_done: int  # … and rows consumed since the job began
    progress: int  # 0 to 99; finishing sets 100
    last: bool  # the job is finished once this chunk commits
    # Overlapped chunks (worker/runner.py; handlers with `overlaps`, databases with concurrent
    # writers): `apply` calls `written(value)` once it has done every write the next chunk
    # could wait on (its rows, their counters); the worker then starts the next chunk's
    # transaction beside this one's rest, handing it `value` as its `after`.
    after: Any = None  # what the chunk before handed on (it may not have committed yet)
    written: Callable[[Any], None] | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    done: int  # rows written
    created: int = 0  # of them, new records
    failed: int = 0  # rows that failed while being written (counted, not listed)


@dataclass(frozen=True, slots=True)
class Totals:
    """The finished job's counts over all its chunks."""

    done: int
    failed: int
    created: int


@dataclass(frozen=True, slots=True)
class Summary:
    result: dict[str, Any]
    operation_status: str  # SUCCESS | FAILED


class JobHandler(Protocol[W]):
    type: str
    # Optional, read with getattr: `reads_ahead` (the next chunk may be read while this one
    # is written) and `overlaps` (its `apply` calls `Chunk.written`: see Chunk).

    async def read_chunk(self, db: Database, job: Job, *, max_rows: int) -> Chunk[W]: ...

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[W], *, now: int) -> Applied: ...

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary: ...


# --- the registry -------------------------------------------------------------------------------

_HANDLERS: dict[str, JobHandler[Any]] = {}


def register(handler: JobHandler[Any]) -> None:
    """Make a job type runnable; registering the same handler again is a no-op."""
    existing = _HANDLERS.get(handler.type)
    if existing is not None and existing is not handler:
        raise ValueError(f"job type {handler.type!r} is already registered")
    _HANDLERS[handler.type] = handler


def unregister(type_: str) -> None:
    _HANDLERS.pop(type_, None)


def get(type_: str) -> JobHandler[Any] | None:
    return _HANDLERS.get(type_)


def registered() -> dict[str, JobHandler[Any]]:
    """A snapshot of the registered handlers by type (what a worker is built with)."""
    return dict(_HANDLERS)


# --- helpers for handlers -----------------------------------------------------------------------


async def read_spec(db: Database | Conn, job: Job) -> Any:
    """A job's parameters stored as one small JSON payload (one piece); {} when gone."""
    piece = await repository.payload_piece(db, project_id=job.project_id, action_id=job.id, seq=0)
    return msgspec.json.decode(piece or b"{}")


async def reported_failures(conn: Conn, job: Job) -> list[Failure]:
    """The job's failed rows in row order, as many as a result lists."""
    rows = await repository.failures(
        conn, project_id=job.project_id, action_id=job.id, limit=REPORTED_FAILURES
    )
    return [Failure(r["row_no"], r["source_id"], r["reason"]) for r in rows]


async def record_failures(conn: Conn, job: Job, failures: list[Failure]) -> None:
    """Rows that failed while `apply` wrote them (each row number at most once per job); the
    worker stores the ones `read_chunk` found. Count them in `Applied.failed`."""
    if failures:
        await repository.insert_failures(
            conn, project_id=job.project_id, action_id=job.id, failures=failures
        )


class PayloadRows(Generic[C, R]):
    """Base of job types whose stored payload is a header row, then one row per record.

    `read_chunk` reads the next `max_rows` rows after the checkpoint and converts each one, so
    a row that does not convert is a per-row failure, never a failed chunk. The prepared
    header is cached per job (it is the same on every chunk, and on every worker).
    """

    type: str
    as_csv: bool = False  # CSV rows (lists of fields) rather than JSON lines (str)
    # A chunk depends only on the stored payload (never changed once stored) and the
    # checkpoint it starts at, so the worker may read the next one while it writes this one.
    reads_ahead: bool = True

    def __init__(self) -> None:
        self._headers: dict[str, tuple[C, int]] = {}

    def prepare(self, header: Any) -> C:
        """The payload's first row → what converting the data rows needs."""
        raise NotImplementedError

    def convert(self, context: C, raw: Any, row_no: int) -> R | Failure:
        """One stored row → what `apply` writes, or why this row fails."""
        raise NotImplementedError

    async def _header(self, db: Database, job: Job) -> tuple[C, int]:
        """The prepared header and the payload offset just after it."""
        if job.id not in self._headers:
            rows, end = await payload.read_rows(
                db,
                project_id=job.project_id,
                action_id=job.id,
                offset=0,
                total_bytes=job.payload_bytes,
                max_rows=1,
                as_csv=self.as_csv,
            )
            if len(self._headers) > 100:  # a bound, not an eviction policy: headers are small
                self._headers.clear()
            try:
                context = self.prepare(rows[0] if rows else [])
            except Exception as exc:
                raise JobCannotRun(f"the job's header row cannot be used: {exc}") from exc
            self._headers[job.id] = (context, end)
        return self._headers[job.id]

    def arrange(self, work: list[R]) -> list[R]:
        """A chunk's converted rows as `apply` wants them (on the converting thread, off the
        chunk's transaction): as they are, unless the job type says otherwise."""
        return work

    def _convert_rows(
        self, context: C, raw_rows: list[Any], *, rows_done: int
    ) -> tuple[list[R], list[Failure], int]:
        row_no = rows_done
        work: list[R] = []
        failures: list[Failure] = []
        for raw in raw_rows:
            row_no += 1
            try:
                converted = self.convert(context, raw, row_no)
            except Exception as exc:  # a stored row that no longer parses
                converted = Failure(row_no, None, f"row could not be read: {exc}")
            if isinstance(converted, Failure):
                failures.append(converted)
            else:
                work.append(converted)
        return self.arrange(work), failures, row_no

    async def read_chunk(self, db: Database, job: Job, *, max_rows: int) -> Chunk[list[R]]:
        context, header_end = await self._header(db, job)
        # Off the event loop's thread, parsed and converted in one hop: that is pure CPU, and
        # on a thread it overlaps the database's work on the previous chunk (`reads_ahead`).
        (work, failures, row_no), end = await payload.read_rows(
            db,
            project_id=job.project_id,
            action_id=job.id,
            offset=max(job.bytes_done, header_end),
            total_bytes=job.payload_bytes,
            max_rows=max_rows,
            as_csv=self.as_csv,
            off_loop=True,
            convert=functools.partial(self._convert_rows, context, rows_done=job.rows_done),
        )
        if end >= job.payload_bytes:
            self._headers.pop(job.id, None)
        return Chunk(
            work=work,
            failures=failures,
            bytes_done=end,
            rows_done=row_no,
            progress=min(99, end * 100 // max(job.payload_bytes, 1)),
            last=end >= job.payload_bytes,
        )
