"""Webhooks: configurations (management API and CLI), the project's signing secret, the
outbox the event writers fill in their transaction, and the delivery log.

Event writers (activities) call `outbox_step_sql` / `outbox_from_events_sql` / `add_to_outbox`
so that every customer event of a project with an active webhook leaves an outbox row in the
same transaction; the dispatcher (dispatcher.py) turns those into signed deliveries.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Sequence

import msgspec
from msgspec import UNSET

from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, NotFound
from patrons.db import database
from patrons.db.database import DB, Conn, Row
from patrons.settings import Settings
from patrons.webhooks import repository
from patrons.webhooks.schemas import MANAGEMENT_EVENTS, Webhook, WebhookList, WebhookWrite
from patrons.webhooks.targets import AddressPolicy, url_problem

CHANNEL = repository.CHANNEL
MAX_WEBHOOKS_PER_PROJECT = 100

# What a webhook may subscribe to: the management API's list, plus the customer event types
# the event log records (registered by assembly.py from activities, which sits above us).
KNOWN_EVENTS: set[str] = set(MANAGEMENT_EVENTS)


def register_event_types(types: Iterable[str]) -> None:
    KNOWN_EVENTS.update(types)


@functools.cache
def default_policy() -> AddressPolicy:
    settings = Settings.from_env()
    return AddressPolicy(
        allow_loopback=settings.webhook_allow_loopback,
        allow_private=settings.webhook_allow_private,
    )


def _json(value: object) -> object:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def webhook_to_wire(row: Row) -> Webhook:
    return Webhook(
        id=row["id"],
        created_at=format_ms(row["created_at"]),
        target_url=row["target_url"],
        events=list(_json(row["events"])),  # type: ignore[call-overload]
        active=bool(row["active"]),
    )


def _checked(body: WebhookWrite, policy: AddressPolicy) -> tuple[str, list[str], bool]:
    """(target_url, events, active) of a valid body; InvalidPayload naming the first fault."""
    if body.target_url is UNSET:
        raise InvalidPayload("Property .target_url is required")
    if body.events is UNSET:
        raise InvalidPayload("Property .events is required")
    problem = url_problem(body.target_url, policy)
    if problem is not None:
        raise InvalidPayload(problem)
    if not body.events:
        raise InvalidPayload("Property .events must contain at least one event")
    events: list[str] = []
    for i, event in enumerate(body.events):
        if event not in KNOWN_EVENTS:
            raise InvalidPayload(f"Property .events[{i}] has an unsupported value {event!r}")
        if event not in events:
            events.append(event)
    return body.target_url, events, True if body.active is UNSET else body.active


async def create(
    conn: Conn, *, project_id: str, body: WebhookWrite, policy: AddressPolicy | None = None
) -> Webhook:
    target_url, events, active = _checked(body, policy or default_policy())
    if len(await repository.list_(conn, project_id=project_id)) >= MAX_WEBHOOKS_PER_PROJECT:
        raise InvalidPayload(f"A project can have at most {MAX_WEBHOOKS_PER_PROJECT} webhooks")
    await _ensure_secret(conn, project_id=project_id)
    row = await repository.insert(
        conn,
        project_id=project_id,
        webhook_id="wh_" + _alnum(24),
        target_url=target_url,
        events=msgspec.json.encode(events).decode(),
        active=active,
        now=now_ms(),
    )
    return webhook_to_wire(row)


async def get(db: DB, *, project_id: str, webhook_id: str) -> Webhook:
    row = await repository.get(db, project_id=project_id, webhook_id=webhook_id)
    if row is None:
        raise NotFound("webhook", webhook_id)
    return webhook_to_wire(row)


async def list_(db: DB, *, project_id: str) -> WebhookList:
    rows = await repository.list_(db, project_id=project_id)
    return WebhookList(data=[webhook_to_wire(r) for r in rows], total=len(rows))


async def update(
    conn: Conn,
    *,
    project_id: str,
    webhook_id: str,
    body: WebhookWrite,
    policy: AddressPolicy | None = None,
) -> Webhook:
    if await repository.get(conn, project_id=project_id, webhook_id=webhook_id) is None:
        raise NotFound("webhook", webhook_id)
    target_url, events, active = _checked(body, policy or default_policy())
    row = await repository.update(
        conn,
        project_id=project_id,
        webhook_id=webhook_id,
        target_url=target_url,
        events=msgspec.json.encode(events).decode(),
        active=active,
        now=now_ms(),
    )
    assert row is not None
    if active:  # pending deliveries of a switched-on webhook are due now
        await repository.unpark(conn, project_id=project_id, webhook_id=webhook_id, now=now_ms())
        await database.notify(conn, CHANNEL)
    else:
        await repository.park(conn, project_id=project_id, webhook_id=webhook_id)
    return webhook_to_wire(row)


async def delete(conn: Conn, *, project_id: str, webhook_id: str) -> None:
    if not await repository.delete(conn, project_id=project_id, webhook_id=webhook_id):
        raise NotFound("webhook", webhook_id)


# --- the signing secret -------------------------------------------------------------------------


def _alnum(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


async def _ensure_secret(conn: Conn, *, project_id: str) -> str:
    return await repository.put_secret(
        conn, project_id=project_id, secret=secrets.token_hex(32), now=now_ms(), replace=False
    )


async def secret(conn: Conn, *, project_id: str, rotate: bool = False) -> str:
    """The project's signing secret, made on first use; `rotate` replaces it (deliveries
    from then on, retries included, are signed with the new one)."""
    if rotate:
        return await repository.put_secret(
            conn, project_id=project_id, secret=secrets.token_hex(32), now=now_ms(), replace=True
        )
    return await _ensure_secret(conn, project_id=project_id)


# --- the delivery log ---------------------------------------------------------------------------


async def delivery_log(
    db: DB, *, project_id: str, webhook_id: str | None = None, limit: int = 50
) -> list[Row]:
    if (
        webhook_id is not None
        and await repository.get(db, project_id=project_id, webhook_id=webhook_id) is None
    ):
        raise NotFound("webhook", webhook_id)
    return await repository.deliveries(
        db, project_id=project_id, webhook_id=webhook_id, limit=limit
    )


# --- the outbox, for the event writers ------------------------------------------------------------


def new_event_id() -> str:
    """An event id of the shape the event log's SQL gives its rows (`evcus_` + 18 hex)."""
    return "evcus_" + secrets.token_hex(9)


def outbox_step_sql(kind: str, *, source: str, event_id: str, created_at: str) -> str:
    """See repository.outbox_step_sql: a data-modifying CTE body, $1 being the project."""
    return repository.outbox_step_sql(kind, source=source, event_id=event_id, created_at=created_at)


def outbox_from_events_sql(kind: str, *, source: str) -> str:
    """See repository.outbox_from_events_sql: the statement after `WITH <source> AS (…)`."""
    return repository.outbox_from_events_sql(kind, source=source)


async def wants_outbox(conn: Conn, *, project_id: str) -> bool:
    """Whether events of the project go to the outbox (it has an active webhook)."""
    return await repository.has_active(conn, project_id=project_id)


async def add_to_outbox(conn: Conn, *, project_id: str, events: Sequence[Row]) -> None:
    """Outbox rows for events just written (rows with id, customer_id, created_at); the
    dispatchers are woken when the transaction commits."""
    if events:
        await repository.add_to_outbox(conn, project_id=project_id, events=events)
        await database.notify(conn, CHANNEL)
