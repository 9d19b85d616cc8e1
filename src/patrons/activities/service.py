"""The customer event log: record events in the writer's transaction; list them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from msgspec import Raw

from patrons.activities import repository
from patrons.activities.schemas import (
    CAMPAIGN_TYPES,
    EVENT_TYPES,
    FILTER_TYPES,
    ActivitiesList,
    ActivityList,
    CustomerActivity,
)
from patrons.core import ids, pagination
from patrons.core.clock import format_ms, now_ms, parse_datetime_ms
from patrons.core.errors import InvalidQueryParams
from patrons.core.origin import Origin
from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.webhooks import service as webhooks

# The wire Customer of an event's snapshot row. Customers sit above activities (every customer
# write records an event here), so the caller that lists events hands its renderer in.
CustomerRenderer = Callable[[Any], Any]

# Consequences of other events, as opposed to actions a caller took (WIRE-FORMAT §3.4).
_EFFECTS = {
    "customer.segment.entered",
    "customer.segment.left",
    "customer.rewarded",
    "customer.rewarded.loyalty_points",
}


def category_of(type_: str) -> str:
    if type_ in _EFFECTS or type_.startswith("customer.loyalty.tier."):
        return "EFFECT"
    return "ACTION"


async def record(
    conn: Conn,
    *,
    project_id: str,
    customer_ids: Sequence[str],
    type_: str,
    origin: Origin,
    extra: dict[str, Any] | None = None,
    now: int | None = None,
    campaign: tuple[str | None, str | None] = (None, None),
) -> None:
    """One `type_` event per customer, with each customer's current row as its snapshot.

    `campaign` is the (campaign_id, campaign_type) the event is about, for the list filters.
    """
    if type_ not in EVENT_TYPES:  # the Python SDK rejects any other value
        raise ValueError(f"unknown event type {type_}")
    category = category_of(type_)
    kind = kind_of(conn)
    # The webhook outbox, in this transaction: in the same statement where the database has
    # data-modifying CTEs; else the events come back for a second insert, asked for only when
    # the project has an active webhook (a point read on SQLite, which has no round trips).
    in_statement = dialect.data_modifying_ctes(kind)
    wanted = not in_statement and await webhooks.wants_outbox(conn, project_id=project_id)
    now = now_ms() if now is None else now
    written = await repository.record_from_customers(
        conn,
        project_id=project_id,
        customer_ids=customer_ids,
        type_=type_,
        category=category,
        group_id=origin.request_id,
        event_source=msgspec.json.encode(
            origin.event_source() if category == "ACTION" else {"channel": "INTERNAL"}
        ).decode(),
        extra=None if extra is None else msgspec.json.encode(extra).decode(),
        now=now,
        campaign_id=campaign[0],
        campaign_type=campaign[1],
        then=webhooks.outbox_from_events_sql(kind, source="e") if in_statement else None,
        returning=wanted,
        # Ordered ids: a bulk chunk's events append to the event log's primary key.
        id_block=ids.event_id_block(now, len(customer_ids)),
    )
    if written:
        await webhooks.add_to_outbox(conn, project_id=project_id, events=written)


async def record_snapshots(
    conn: Conn,
    *,
    project_id: str,
    snapshots: Sequence[tuple[str, str]],
    type_: str,
    origin: Origin,
    now: int,
) -> None:
    """`record` for customers whose rows the caller has just written and holds whole (a bulk
    chunk's new customers): `(customer_id, snapshot)` pairs, each snapshot the JSON of the
    customer's columns exactly as `record` would read them back (decoded: the snapshot column
    keeps the text as written, so nested objects must come with their keys in jsonb's order,
    as `record`'s snapshots have them — migration 0017). The events are COPYed in,
    without reading the rows again — where the database has COPY (PostgreSQL; the caller
    checks) — and go to the webhook outbox as `record`'s do."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    if not snapshots:
        return
    category = category_of(type_)
    source = msgspec.json.encode(
        origin.event_source() if category == "ACTION" else {"channel": "INTERNAL"}
    ).decode()
    group = origin.request_id
    event_ids = ids.event_ids(now, len(snapshots))
    # Made as the COPY reads them (see customers.bulk_writer._whole_records).
    events = (
        (project_id, event_id, customer_id, type_, category, group, snapshot, None, source, now)
        for event_id, (customer_id, snapshot) in zip(event_ids, snapshots, strict=True)
    )
    await repository.copy_events(conn, project_id=project_id, events=events)
    if await webhooks.wants_outbox(conn, project_id=project_id):
        await webhooks.add_to_outbox(
            conn,
            project_id=project_id,
            events=[
                {"id": event_id, "customer_id": customer_id, "created_at": now}
                for event_id, (customer_id, _) in zip(event_ids, snapshots, strict=True)
            ],
        )


class WrittenEvents:
    """`customer.created`/`customer.updated` for the row a single-customer write statement
    returns: the SQL is spliced into that statement (one round trip writes and records), so
    the event is the one `record` would write — same snapshot, source and group — and so is
    its webhook outbox row (a further CTE step, written only when the project has an active
    webhook). One instance per statement: it carries the event's id."""

    __slots__ = ("args",)

    def __init__(self, origin: Origin, *, now: int) -> None:
        self.args = (
            "customer.created",
            "customer.updated",
            category_of("customer.created"),
            origin.request_id,
            msgspec.json.encode(origin.event_source()).decode(),
            now,
            webhooks.new_event_id(),
        )

    @property
    def event_id(self) -> str:
        """The event's id (the last of `args`)."""
        return str(self.args[-1])

    @staticmethod
    def sql(kind: str, *, source: str, first: int) -> str:
        """The INSERT of the event of the row of CTE `source`; its parameters from `$first`.

        The caller wraps it as `e AS (…)`; the webhook outbox step follows it as another
        step of the same WITH (`…), o AS (…`), reading `source` and the event id parameter.
        """
        event = repository.written_events_sql(kind, source=source, first=first)
        outbox = webhooks.outbox_step_sql(
            kind, source=source, event_id=f"${first + 6}", created_at=f"${first + 5}"
        )
        return f"{event}), o AS ({outbox}"


def event_payload(row: Row, render_customer: CustomerRenderer) -> tuple[Any, Any]:
    """(data, event_source) of an event row: the payload its activity and its webhook
    deliveries carry (`customer` rendered from the snapshot, plus the event's own keys)."""
    payload: dict[str, Any] = {"customer": render_customer(_json(row["snapshot"]))}
    if row["extra"] is not None:
        payload.update(_json(row["extra"]))
    return payload, _json(row["event_source"])


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def activity_to_wire(row: Row, render_customer: CustomerRenderer) -> CustomerActivity:
    payload, event_source = event_payload(row, render_customer)
    data = {"data": payload, "event_source": event_source}
    return CustomerActivity(
        id=row["id"],
        type=row["type"],
        data=Raw(msgspec.json.encode(data)),
        created_at=format_ms(row["created_at"]),
        group_id=row["group_id"],
    )


def _date(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_datetime_ms(raw)
    except ValueError:
        raise InvalidQueryParams(
            f"Property .{name} cannot be recognized as a ISO-8601 compliant date"
        ) from None


class _Where:
    """Conditions with placeholders numbered after the two fixed ones ($1 project, $2 customer)."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        marks = []
        for value in values:
            self.args.append(value)
            marks.append(f"${len(self.args) + 2}")
        self.sql.append(template.format(*marks))


def _filters(params: dict[str, str], *, allow_type: bool) -> _Where:
    where = _Where()
    start, end = _date(params, "start_date"), _date(params, "end_date")
    if start is not None:
        where.add("created_at >= {}", start)
    if end is not None:
        where.add("created_at <= {}", end)
    if params.get("campaign_id"):
        where.add("campaign_id = {}", params["campaign_id"])
    campaign_type = params.get("campaign_type")
    if campaign_type:
        if campaign_type not in CAMPAIGN_TYPES:
            raise InvalidQueryParams(
                "Property .campaign_type must be equal to one of "
                + ", ".join(sorted(CAMPAIGN_TYPES))
            )
        where.add("campaign_type = {}", campaign_type)
    if allow_type:
        category = params.get("category")
        if category:
            if category not in ("ACTION", "EFFECT"):
                raise InvalidQueryParams(
                    "Property .category must be equal to one of ACTION, EFFECT"
                )
            where.add("category = {}", category)
        type_ = params.get("type")
        if type_:
            if type_ not in FILTER_TYPES:
                raise InvalidQueryParams(f"Property .type has an unsupported value {type_!r}")
            where.add("type = {}", type_)
    return where


def _order(params: dict[str, str], allowed: tuple[str, ...]) -> bool:
    """True for newest first (the default)."""
    order = params.get("order") or "-created_at"
    if order not in allowed:
        raise InvalidQueryParams("Property .order must be equal to one of " + ", ".join(allowed))
    return order.startswith("-")


async def list_(
    db: Database,
    *,
    project_id: str,
    customer_id: str,
    params: dict[str, str],
    render_customer: CustomerRenderer,
) -> ActivityList:
    """GET /v1/customers/{id}/activity: `starting_after_id` cursor, `has_more`, no total."""
    limit = pagination.parse_limit(params.get("limit"))
    descending = _order(params, ("created_at", "-created_at"))
    where = _filters(params, allow_type=True)
    cursor_id = params.get("starting_after_id")
    if cursor_id:
        cursor = await repository.get(
            db, project_id=project_id, customer_id=customer_id, event_id=cursor_id
        )
        if cursor is None:
            raise InvalidQueryParams(f"Property .starting_after_id: no event {cursor_id}")
        op = pagination.after(descending)
        where.add(
            f"(created_at {op} {{}} OR (created_at = {{}} AND id {op} {{}}))",
            cursor["created_at"],
            cursor["created_at"],
            cursor["id"],
        )
    rows = await repository.list_(
        db,
        project_id=project_id,
        customer_id=customer_id,
        where=where.sql,
        args=where.args,
        descending=descending,
        limit=pagination.fetch_size(limit),
    )
    shown, has_more = pagination.split(rows, limit)
    page = [activity_to_wire(r, render_customer) for r in shown]
    return ActivityList(
        data=page,
        has_more=has_more,
        more_starting_after=pagination.next_cursor(page, has_more, lambda a: a.id),
    )


async def list_legacy(
    db: Database,
    *,
    project_id: str,
    customer_id: str,
    params: dict[str, str],
    render_customer: CustomerRenderer,
) -> ActivitiesList:
    """The deprecated GET /v1/customers/{id}/activities: date cursor and `total`."""
    limit = pagination.parse_limit(params.get("limit"))
    # The legacy order enum is wide (type, code, campaign, …); events sort by time, in the
    # direction the value's sign asks for.
    descending = (params.get("order") or "-created_at").startswith("-")
    where = _filters(params, allow_type=False)
    total = await repository.count(
        db, project_id=project_id, customer_id=customer_id, where=where.sql, args=where.args
    )
    cursor = _date(params, "starting_after")
    if cursor is not None:
        where.add(f"created_at {pagination.after(descending)} {{}}", cursor)
    rows = await repository.list_(
        db,
        project_id=project_id,
        customer_id=customer_id,
        where=where.sql,
        args=where.args,
        descending=descending,
        limit=limit,
    )
    return ActivitiesList(data=[activity_to_wire(r, render_customer) for r in rows], total=total)
