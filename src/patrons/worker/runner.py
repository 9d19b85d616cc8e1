"""The worker: claim → run one chunk → checkpoint, forever.

A claim leases one job for one chunk. The chunk's writes, its failures and the checkpoint
(`bytes_done`, `rows_done`, counts) commit in one transaction that first re-checks the lease,
so a chunk is applied exactly once: a worker killed at any moment leaves either the whole
chunk or none of it, and after the lease expires any worker resumes from the checkpoint.
Releasing the lease after every chunk and always claiming the job touched longest ago gives
round-robin between jobs, so small jobs are not starved behind a huge import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from patrons import observability
from patrons.async_actions import payload, repository
from patrons.async_actions.service import encode_result
from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.origin import Origin
from patrons.customers import bulk_writer
from patrons.customers.bulk_writer import record_written
from patrons.customers.jobs import KINDS, JobKind
from patrons.db import dialect
from patrons.db.database import Database, Row
from patrons.redeemables import generation

log = logging.getLogger("patrons.worker")
MAX_ATTEMPTS = 20  # claims of one job without a committed chunk before it is FAILED
REPORTED_FAILURES = 1000


class Worker:
    def __init__(
        self, db: Database, *, chunk_rows: int = 5000, lease_ms: int = 30_000, poll: float = 0.5
    ) -> None:
        self.db = db
        self.owner = ids.worker_id()
        self.chunk_rows = chunk_rows
        self.lease_ms = lease_ms
        self.poll = poll
        self._headers: dict[str, tuple[Any, int]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started", self.owner)
        while not stop.is_set():
            try:
                worked = await self.step()
            except Exception:
                log.exception("worker %s: chunk failed; the job will be retried", self.owner)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll)
        log.info("worker %s stopped", self.owner)

    async def step(self) -> bool:
        """Claim one job and run one chunk of it; False when there was nothing to do."""
        job = await self.claim()
        if job is None:
            return False
        if job["type"] in generation.TYPES and job["attempts"] <= MAX_ATTEMPTS:
            await generation.run_chunk(self.db, job, owner=self.owner, chunk_rows=self.chunk_rows)
            return True
        kind = KINDS.get(job["type"])
        if kind is None or job["attempts"] > MAX_ATTEMPTS:
            await self._fail(job, "job could not be processed")
            return True
        await self.run_chunk(job, kind)
        return True

    async def claim(self) -> Row | None:
        lock = "FOR UPDATE SKIP LOCKED" if self.db.kind == dialect.POSTGRESQL else ""
        async with self.db.transaction() as conn:
            now = now_ms()
            row = await repository.candidates(conn, now=now, lock=lock)
            if row is None:
                return None
            return await repository.take_lease(
                conn,
                project_id=row["project_id"],
                action_id=row["id"],
                owner=self.owner,
                now=now,
                until=now + self.lease_ms,
            )

    async def _header(self, job: Row, kind: JobKind) -> tuple[Any, int]:
        """The payload's first row, prepared for conversion, and the offset after it."""
        key = job["id"]
        if key not in self._headers:
            rows, end = await payload.read_rows(
                self.db,
                project_id=job["project_id"],
                action_id=job["id"],
                offset=0,
                total_bytes=job["payload_bytes"],
                max_rows=1,
                as_csv=kind.as_csv,
            )
            if len(self._headers) > 100:
                self._headers.clear()
            self._headers[key] = (kind.prepare(rows[0] if rows else []), end)
        return self._headers[key]

    async def run_chunk(self, job: Row, kind: JobKind) -> None:
        started = observability.now()
        project_id, action_id = job["project_id"], job["id"]
        context, header_end = await self._header(job, kind)
        start = max(job["bytes_done"], header_end)
        raw_rows, end = await payload.read_rows(
            self.db,
            project_id=project_id,
            action_id=action_id,
            offset=start,
            total_bytes=job["payload_bytes"],
            max_rows=self.chunk_rows,
            as_csv=kind.as_csv,
        )
        row_no = job["rows_done"]
        writes: list[bulk_writer.RowWrite] = []
        failures: list[tuple[int, Any, str]] = []
        for raw in raw_rows:
            row_no += 1
            try:
                converted, source_id = kind.convert(context, raw, row_no)
            except Exception as exc:  # a stored row that no longer parses
                converted, source_id = f"row could not be read: {exc}", None
            if isinstance(converted, str):
                failures.append((row_no, source_id, converted))
            else:
                writes.append(converted)
        finished = end >= job["payload_bytes"]
        async with self.db.transaction() as conn:
            if not await repository.hold_lease(
                conn, project_id=project_id, action_id=action_id, owner=self.owner
            ):
                log.warning("worker %s lost the lease on %s; chunk dropped", self.owner, action_id)
                return
            now = now_ms()
            created = 0
            if writes:
                written = await bulk_writer.write_chunk(
                    conn,
                    kind=self.db.kind,
                    project_id=project_id,
                    rows=writes,
                    mode=kind.mode,
                    now=now,
                )
                created = sum(1 for row in written if row.inserted)
                await record_written(
                    conn,
                    project_id=project_id,
                    rows=written,
                    origin=Origin(request_id=job["request_id"]),
                    now=now,
                )
            if failures:
                await repository.insert_failures(
                    conn, project_id=project_id, action_id=action_id, failures=failures
                )
            total = max(job["payload_bytes"], 1)
            await repository.checkpoint(
                conn,
                project_id=project_id,
                action_id=action_id,
                bytes_done=end,
                rows_done=row_no,
                done=len(writes),
                failed=len(failures),
                created=created,
                progress=min(99, end * 100 // total),
                now=now,
            )
            if finished:
                await self._finish(conn, job, kind, now)
        observability.JOB_SECONDS.labels(job["type"]).observe(observability.now() - started)
        observability.JOB_ROWS.labels(job["type"], "written").inc(len(writes))
        observability.JOB_ROWS.labels(job["type"], "failed").inc(len(failures))
        log.info(
            "job %s (%s): rows %d..%d, %d written, %d failed%s",
            action_id,
            job["type"],
            job["rows_done"] + 1,
            row_no,
            len(writes),
            len(failures),
            ", done" if finished else "",
        )

    async def _finish(self, conn: Any, job: Row, kind: JobKind, now: int) -> None:
        project_id, action_id = job["project_id"], job["id"]
        row = await repository.get(conn, project_id=project_id, action_id=action_id)
        done, failed = row["done_count"], row["failed_count"]
        failures = await repository.failures(
            conn, project_id=project_id, action_id=action_id, limit=REPORTED_FAILURES
        )
        result = kind.result(
            done=done, failed=failed, failures=failures, now_iso=format_ms(now + 7 * 86_400_000)
        )
        # Beyond Voucherify's shape (clients ignore unknown keys): created vs updated rows.
        result["created_count"] = row["created_count"]
        await repository.finish(
            conn,
            project_id=project_id,
            action_id=action_id,
            status="DONE",
            operation_status="FAILED" if failed and not done else "SUCCESS",
            result=encode_result(result),
            now=now,
        )
        await repository.delete_payload(conn, project_id=project_id, action_id=action_id)
        self._headers.pop(action_id, None)

    async def _fail(self, job: Row, reason: str) -> None:
        async with self.db.transaction() as conn:
            await repository.finish(
                conn,
                project_id=job["project_id"],
                action_id=job["id"],
                status="FAILED",
                operation_status="FAILED",
                result=encode_result({"message": reason}),
                now=now_ms(),
            )
