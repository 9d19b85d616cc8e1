"""The webhook dispatcher: outbox → deliveries → signed POSTs, beside the job loop of every
worker (registered by assembly.py; the worker knows no job type and no webhook).

A round: (1) fan out — the oldest outbox rows, locked (SKIP LOCKED on PostgreSQL), become one
delivery per matching active webhook, each with its JSON body fixed (the event id is the event
log's, so every attempt and every dispatcher sends the same bytes), and leave the outbox in the
same transaction; (2) claim — due deliveries, each the earliest pending one of its customer for
its webhook, are leased; (3) send — POST with `X-Voucherify-Signature` = hex HMAC-SHA256 of the
body with the project's secret, concurrently up to `max_in_flight`; (4) record — in a
transaction that re-checks the lease: DELIVERED on 2xx, else the attempt's error and the next
attempt at base·2^(n-1) s; after `max_attempts` the delivery is FAILED and its webhook disabled.

State lives in the database only: a dispatcher killed at any moment leaves either an outbox row
(fanned out again) or a leased delivery whose lease expires (sent again): at least once.
An idle dispatcher sleeps until an outbox write commits (CHANNEL) or `poll` seconds pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from patrons.core.clock import format_ms, now_ms
from patrons.db import database
from patrons.db.database import Database, Row
from patrons.settings import Settings
from patrons.webhooks import repository
from patrons.webhooks.service import CHANNEL
from patrons.webhooks.targets import AddressPolicy, refused_address

log = logging.getLogger("patrons.webhooks")

# An event row (type, snapshot, extra, event_source, …) → (data, event_source) of its payload;
# activities renders it (it sits above us), assembly.py hands it in.
EventRenderer = Callable[[Row], tuple[Any, Any]]
SIGNATURE_HEADER = "X-Voucherify-Signature"
FANOUT_BATCH = 200
# The delivery log keeps finished deliveries this long; older ones are pruned hourly.
LOG_KEEP_MS = 30 * 24 * 3600 * 1000
PRUNE_EVERY_MS = 3600 * 1000
PRUNE_BATCH = 1000


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Options:
    retry_base_seconds: float = 60.0
    max_attempts: int = 12
    timeout_seconds: float = 10.0
    poll_seconds: float = 0.5
    max_in_flight: int = 16
    policy: AddressPolicy = field(default_factory=AddressPolicy)

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        return cls(
            retry_base_seconds=settings.webhook_retry_base_seconds,
            max_attempts=settings.webhook_max_attempts,
            timeout_seconds=settings.webhook_timeout_seconds,
            poll_seconds=settings.worker_poll_seconds,
            policy=AddressPolicy(
                allow_loopback=settings.webhook_allow_loopback,
                allow_private=settings.webhook_allow_private,
            ),
        )

    @property
    def lease_ms(self) -> int:
        """Longer than any attempt: a live dispatcher never loses a lease mid-POST."""
        return int((self.timeout_seconds + 20) * 1000)

    def backoff_ms(self, attempts: int) -> int:
        return int(self.retry_base_seconds * 1000 * 2 ** (attempts - 1))


class Dispatcher:
    def __init__(self, db: Database, *, render: EventRenderer, options: Options) -> None:
        self.db = db
        self.render = render
        self.options = options
        self.owner = "whd-" + format(id(self), "x") + "-" + _random_suffix()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._pruned_at = 0

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        listening = await database.listen(self.db, CHANNEL, wake.set)
        timeout = httpx.Timeout(self.options.timeout_seconds)
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            try:
                while not stop.is_set():
                    wake.clear()
                    try:
                        worked = await self.step(client)
                    except Exception:
                        log.exception("webhook dispatcher round failed; retrying")
                        worked = False
                    if not worked:
                        await self._idle(stop, wake)
                    else:
                        await asyncio.sleep(0)
            finally:
                await listening.close()
                if self._in_flight:  # let started attempts record their outcome
                    await asyncio.wait(self._in_flight, timeout=self.options.timeout_seconds + 1)

    async def _idle(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(wake.wait()),
        ]
        waiters.extend(self._in_flight)  # a finished attempt may free the customer's next
        try:
            await asyncio.wait(
                waiters, timeout=self.options.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiters[0].cancel()
            waiters[1].cancel()

    async def step(self, client: httpx.AsyncClient) -> bool:
        """One round: fan out, claim, start sending; False when there was nothing to do."""
        if now_ms() - self._pruned_at > PRUNE_EVERY_MS:
            await self.prune()
        if not await repository.work_waiting(self.db, now=now_ms()):
            return False  # the usual idle round: one indexed read, no write transaction
        fanned = await self.fan_out()
        room = self.options.max_in_flight - len(self._in_flight)
        claimed = await self.claim(room) if room > 0 else []
        for delivery in claimed:
            task = asyncio.create_task(self.send(client, delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return fanned > 0 or bool(claimed)

    async def fan_out(self) -> int:
        """Outbox rows → deliveries; the number of outbox rows consumed."""
        async with self.db.transaction() as conn:
            rows = await repository.outbox_batch(conn, limit=FANOUT_BATCH)
            if not rows:
                return 0
            hooks: dict[str, list[tuple[str, set[str]]]] = {}
            now = now_ms()
            per_project: dict[str, list[tuple[Any, ...]]] = {}
            for row in rows:
                project_id = row["project_id"]
                if project_id not in hooks:
                    hooks[project_id] = [
                        (h["id"], set(_json(h["events"])))
                        for h in await repository.active_for(conn, project_id=project_id)
                    ]
                matching = [
                    hook_id for hook_id, events in hooks[project_id] if row["type"] in events
                ]
                if not matching:
                    continue
                data, event_source = self.render(row)
                for hook_id in matching:
                    body = msgspec.json.encode(
                        {
                            "id": row["event_id"],
                            "object": "event",
                            "webhook_id": hook_id,
                            "project_id": project_id,
                            "created_at": format_ms(row["created_at"]),
                            "type": row["type"],
                            "data": data,
                            "event_source": event_source,
                            "group_id": row["group_id"],
                        }
                    ).decode()
                    per_project.setdefault(project_id, []).append(
                        (
                            "whdl_" + _random_suffix(),
                            hook_id,
                            row["event_id"],
                            row["type"],
                            row["customer_id"],
                            row["seq"],
                            body,
                            now,
                        )
                    )
            for project_id, deliveries in per_project.items():
                await repository.insert_deliveries(conn, project_id=project_id, rows=deliveries)
            await repository.drop_outbox(conn, seqs=[row["seq"] for row in rows])
            return len(rows)

    async def prune(self) -> None:
        """Finished deliveries older than LOG_KEEP_MS leave the log, a batch per transaction."""
        self._pruned_at = now = now_ms()
        while True:
            async with self.db.transaction() as conn:
                deleted = await repository.prune(conn, before=now - LOG_KEEP_MS, limit=PRUNE_BATCH)
            if deleted < PRUNE_BATCH:
                return

    async def claim(self, limit: int) -> list[Row]:
        async with self.db.transaction() as conn:
            now = now_ms()
            due = await repository.due_deliveries(conn, now=now, limit=limit)
            leased = []
            for row in due:
                got = await repository.lease(
                    conn,
                    project_id=row["project_id"],
                    delivery_id=row["id"],
                    owner=self.owner,
                    until=now + self.options.lease_ms,
                )
                if got is not None:
                    leased.append(got)
            return leased

    async def send(self, client: httpx.AsyncClient, delivery: Row) -> None:
        """One attempt and its record; never raises (a failure to record leaves the lease to
        expire, and the attempt is made again)."""
        try:
            http_status, error = await self._attempt(client, delivery)
            await self._record(delivery, http_status, error)
        except Exception:
            log.exception("webhook delivery %s: attempt not recorded", delivery["id"])

    async def _attempt(
        self, client: httpx.AsyncClient, delivery: Row
    ) -> tuple[int | None, str | None]:
        url: str = delivery["target_url"]
        refused = await refused_address(url, self.options.policy)
        if refused is not None:
            return None, refused
        body = delivery["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Patrons-Webhooks/1",
            SIGNATURE_HEADER: sign(delivery["secret"] or "", body),
        }
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, f"timed out after {self.options.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            return None, f"request failed: {type(exc).__name__}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _record(self, delivery: Row, http_status: int | None, error: str | None) -> None:
        attempts = int(delivery["attempts"]) + 1
        now = now_ms()
        if error is None:
            status, next_at = "DELIVERED", now
        elif attempts >= self.options.max_attempts:
            status, next_at = "FAILED", now
        else:
            status, next_at = "PENDING", now + self.options.backoff_ms(attempts)
        async with self.db.transaction() as conn:
            row = await repository.record_attempt(
                conn,
                project_id=delivery["project_id"],
                delivery_id=delivery["id"],
                owner=self.owner,
                status=status,
                next_at=next_at,
                http_status=http_status,
                error=error,
                now=now,
            )
            if row is None:
                log.warning("webhook delivery %s: lease lost; outcome dropped", delivery["id"])
                return
            if status == "FAILED":
                await repository.disable(
                    conn, project_id=delivery["project_id"], webhook_id=row["webhook_id"], now=now
                )
        if status == "FAILED":
            log.warning(
                "webhook %s disabled: delivery %s failed %d times (%s)",
                delivery["webhook_id"],
                delivery["id"],
                attempts,
                error,
            )
        elif error is not None:
            log.info(
                "webhook delivery %s attempt %d failed (%s); next in %d ms",
                delivery["id"],
                attempts,
                error,
                next_at - now,
            )


def _random_suffix() -> str:
    import secrets

    return secrets.token_hex(10)


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def service(
    render: EventRenderer,
) -> Callable[[Database, asyncio.Event], Coroutine[Any, Any, None]]:
    """The dispatcher as a worker's background service (assembly.py registers it)."""

    async def run(db: Database, stop: asyncio.Event) -> None:
        options = Options.from_settings(Settings.from_env())
        await Dispatcher(db, render=render, options=options).run(stop)

    return run
