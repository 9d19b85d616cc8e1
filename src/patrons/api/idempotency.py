"""`Idempotency-Key` on POST/PUT under /v1 (beyond Voucherify; Stripe's semantics).

Called by the Gateway after authentication, only for POST/PUT requests that carry the header,
so every other request pays nothing. Per (project, key), kept 24 h in `idempotency_key`:

1. The body is read once — hashed while it streams into a spool file that stays in memory up
   to 1 MiB and goes to disk beyond (a CSV upload never sits whole in memory); the body limit
   applies as it arrives. The request digest is sha256(method, raw path, query, body).
2. Claim: `INSERT … ON CONFLICT DO NOTHING` of an IN_PROGRESS row whose `expires_at` is a
   lease. Whoever inserts executes; everyone else reads the row:
   - DONE with the same digest → the stored response is replayed (`Idempotent-Replayed: true`);
   - another digest → 409 `idempotency_key_reused`, nothing runs;
   - IN_PROGRESS → wait up to WAIT_SECONDS for it to finish and replay it, else 409
     `idempotency_key_in_progress`. Never two executions while a lease lives.
   An expired DONE row (older than 24 h) counts as absent; an expired lease (a crashed
   process) is taken over by a retry of the same request. Both takeovers are a conditional
   UPDATE on the old `expires_at`, so only one contender wins.
3. The app runs with the spooled body; its response is buffered (POST/PUT responses are
   small), stored as DONE, then sent. 5xx and 429 are not stored: the key is released so a
   retry runs again. A crash between the handler's commit and the store leaves the lease to
   expire, after which a retry executes again — the one window where a request can run twice.

Permanent deletions bypass the store: their response would keep the erased customer's id.
The store's SQL and its permanent-deletion eraser live in patrons/idempotency_keys/, below the
resources, so assembly.py can register the eraser without importing api/.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import tempfile
from typing import IO, Any

import msgspec

from patrons.core.clock import now_ms
from patrons.core.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    PayloadTooLarge,
)
from patrons.db.database import Database, Row
from patrons.http.paths import api_segments
from patrons.idempotency_keys import repository

METHODS = frozenset({"POST", "PUT"})
HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
MAX_KEY_LENGTH = 255
TTL_MS = 24 * 3600 * 1000
LEASE_MS = 60_000  # longer than any request runs; only a crashed process's key waits this long
WAIT_SECONDS = 5.0  # a concurrent duplicate waits this long for the first to finish
POLL_SECONDS = 0.05
SPOOL_MEMORY = 1 << 20
READ_CHUNK = 64 * 1024
PURGE_EVERY_MS = 60_000
PURGE_BATCH = 1000
# Response headers not worth replaying (recomputed or per-response).
_DROPPED = frozenset({b"content-length", b"date", b"server", b"x-request-id"})

_last_purge = [0]
_tasks: set[asyncio.Task[None]] = set()


def key_of(scope: dict[str, Any]) -> bytes | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value
    return None


def _validate(raw: bytes) -> str:
    if not raw or len(raw) > MAX_KEY_LENGTH or any(b < 0x20 or b > 0x7E for b in raw):
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return raw.decode("ascii")


async def handle(
    app: Any,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    *,
    db: Database,
    project_id: str,
    raw_key: bytes,
    max_body: int,
) -> None:
    """Run or replay one keyed request. Raises PatronsError only before anything is sent."""
    key = _validate(raw_key)
    if (api_segments(scope["path"]) or ())[-1:] == ("permanent-deletion",):
        await app(scope, receive, send)
        return
    spool, size, digest = await _read_body(scope, receive, max_body)
    try:
        now = now_ms()
        if now - _last_purge[0] > PURGE_EVERY_MS:
            _last_purge[0] = now
            task = asyncio.create_task(_purge(db, now))
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)
        claim = await _claim_or_wait(db, project_id, key, digest)
        if not isinstance(claim, int):
            await _replay(send, claim)
            return
        receive = _replaying(spool, size, receive)
        await _execute(app, scope, receive, send, db, project_id, key, claimed_at=claim)
    finally:
        spool.close()


async def _read_body(
    scope: dict[str, Any], receive: Any, max_body: int
) -> tuple[IO[bytes], int, str]:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(len(part).to_bytes(8, "big") + part)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                raise asyncio.CancelledError
            body = message.get("body", b"")
            size += len(body)
            if size > max_body:
                raise PayloadTooLarge(max_body)
            digest.update(body)
            spool.write(body)
            if not message.get("more_body", False):
                break
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size, digest.hexdigest()


def _replaying(spool: IO[bytes], size: int, receive: Any) -> Any:
    """An ASGI `receive` that hands the app the spooled body, then the real channel."""
    sent = [False]

    async def replay_receive() -> dict[str, Any]:
        if sent[0]:
            return await receive()
        data = spool.read(READ_CHUNK)
        more = spool.tell() < size
        if not more:
            sent[0] = True
        return {"type": "http.request", "body": data, "more_body": more}

    return replay_receive


# --- claim / wait -------------------------------------------------------------------------------


async def _claim_or_wait(db: Database, project_id: str, key: str, digest: str) -> int | Row:
    """An int: this request owns the key (claimed at that ms) and executes. A row: the stored
    response to replay."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        row = await _claim(db, project_id, key, digest)
        if isinstance(row, int):
            return row
        if row["request_hash"] != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different method, path, query or"
                " body; use a new key for a new request"
            )
        if row["state"] == "DONE":
            return row
        if asyncio.get_running_loop().time() >= deadline:
            raise IdempotencyKeyInProgress(
                "The first request with this Idempotency-Key has not finished; retry later"
            )
        await asyncio.sleep(POLL_SECONDS)
        # Poll with a plain read; claim again only once the row changed state or expired.
        while asyncio.get_running_loop().time() < deadline:
            current = await repository.get(db, project_id=project_id, key=key)
            if current is None or current["state"] == "DONE" or current["expires_at"] <= now_ms():
                break
            await asyncio.sleep(POLL_SECONDS)


async def _claim(db: Database, project_id: str, key: str, digest: str) -> int | Row:
    """The claim time when this request now owns the key, else the key's current row."""
    for _ in range(5):  # a row deleted between our INSERT and SELECT: try again
        now = now_ms()
        async with db.transaction() as conn:
            if await repository.claim(
                conn,
                project_id=project_id,
                key=key,
                request_hash=digest,
                now=now,
                lease_until=now + LEASE_MS,
            ):
                return now
            row = await repository.get(conn, project_id=project_id, key=key)
            if row is None:
                continue
            expired = row["expires_at"] <= now
            # A stale DONE row is absent; a dead lease passes to a retry of the same request.
            if expired and (row["state"] == "DONE" or row["request_hash"] == digest):
                if await repository.take_over(
                    conn,
                    project_id=project_id,
                    key=key,
                    request_hash=digest,
                    now=now,
                    lease_until=now + LEASE_MS,
                    old_expires_at=row["expires_at"],
                ):
                    return now
                continue
            return row
    raise IdempotencyKeyInProgress("The Idempotency-Key is contended; retry later")


# --- execute / store / replay -------------------------------------------------------------------


async def _execute(
    app: Any,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    db: Database,
    project_id: str,
    key: str,
    *,
    claimed_at: int,
) -> None:
    start: dict[str, Any] = {}
    chunks: list[bytes] = []
    complete = [False]

    async def capture(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                complete[0] = True

    stored = False
    body = b""
    try:
        await app(scope, receive, capture)
        body = b"".join(chunks)
        if complete[0] and start:
            stored = await _store(db, project_id, key, claimed_at, start, body)
    finally:
        if not stored:
            with contextlib.suppress(Exception):
                await _release(db, project_id, key, claimed_at)
    if start:
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _store(
    db: Database,
    project_id: str,
    key: str,
    claimed_at: int,
    start: dict[str, Any],
    body: bytes,
) -> bool:
    status = start["status"]
    if status >= 500 or status == 429:
        return False  # a retry should run again
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "\x00" in text:
        return False
    headers = [
        [name.decode("latin-1"), value.decode("latin-1")]
        for name, value in start.get("headers", ())
        if name.lower() not in _DROPPED
    ]
    async with db.transaction() as conn:
        return await repository.store_response(
            conn,
            project_id=project_id,
            key=key,
            claimed_at=claimed_at,
            status=status,
            headers=msgspec.json.encode(headers).decode(),
            body=text,
            expires_at=now_ms() + TTL_MS,
        )


async def _release(db: Database, project_id: str, key: str, claimed_at: int) -> None:
    async with db.transaction() as conn:
        await repository.release(conn, project_id=project_id, key=key, claimed_at=claimed_at)


async def _replay(send: Any, row: Row) -> None:
    body = (row["response_body"] or "").encode("utf-8")
    stored = row["response_headers"]
    pairs = msgspec.json.decode(stored) if isinstance(stored, str | bytes) else stored or []
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    headers += [(b"content-length", str(len(body)).encode()), REPLAYED]
    await send(
        {"type": "http.response.start", "status": row["response_status"], "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})


async def _purge(db: Database, now: int) -> None:
    """Delete a batch of expired keys (stale responses and dead leases) now and then."""
    await asyncio.sleep(random.random())  # spread processes that started together
    with contextlib.suppress(Exception):
        async with db.transaction() as conn:
            await repository.purge_expired(conn, now=now, batch=PURGE_BATCH)
