"""Track a custom event: name (or upsert) the customer and record `customer.custom_event` in
their activity, in the caller's one transaction. Never commits.

The event lives only in the event log (customer_event): its payload is the activity's data
(WIRE-FORMAT §3.4, EventCustomerCustomEvent), so the activity list's `type` filter finds it
and whatever follows the event log (webhooks) sees it. Referral and loyalty codes are kept in
the event as sent; no referral conversion or earning rule is run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET

from patrons.activities import service as activities
from patrons.core import ids, limits
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload
from patrons.core.jsonraw import raw_json
from patrons.core.origin import Origin
from patrons.customers import named
from patrons.db.database import Conn
from patrons.events.schemas import EventCreate, EventCreated, SimpleCustomer

EVENT_TYPE = "customer.custom_event"


def simple_customer(row: Mapping[str, Any]) -> SimpleCustomer:
    return SimpleCustomer(
        id=row["id"],
        source_id=row["source_id"],
        name=UNSET if row["name"] is None else row["name"],
        email=UNSET if row["email"] is None else row["email"],
        metadata=raw_json(row["metadata"]) or msgspec.Raw(b"{}"),
    )


def _given(value: Any) -> bool:
    return value is not UNSET and value is not None


async def track(conn: Conn, *, project_id: str, body: EventCreate, origin: Origin) -> EventCreated:
    """POST /v1/events. Bad input raises before anything is written; an unknown customer id
    is a 404 (customers/named.py), other customers are created or updated as sent."""
    metadata = body.metadata if isinstance(body.metadata, dict) else {}
    problem = limits.metadata_problem(metadata)
    if problem is not None:
        raise InvalidPayload(f"Property .{problem}")
    row = await named.resolve_named(
        conn, project_id=project_id, customer=body.customer, origin=origin
    )
    if row is None:
        raise InvalidPayload("Property .customer must carry an id, a source_id or profile fields")
    customer = simple_customer(row)
    now = now_ms()
    referral = msgspec.to_builtins(body.referral) if _given(body.referral) else None
    loyalty = msgspec.to_builtins(body.loyalty) if _given(body.loyalty) else None
    event = {
        "id": ids.custom_event_id(),
        "object": "event",
        "type": body.event,
        "customer": msgspec.json.decode(msgspec.json.encode(customer)),  # Raw metadata inside
        "referral": referral,
        "loyalty": loyalty,
        "metadata": metadata,
        "created_at": format_ms(now),
    }
    await activities.record(
        conn,
        project_id=project_id,
        customer_ids=[row["id"]],
        type_=EVENT_TYPE,
        origin=origin,
        # The activity's `customer` is the snapshot activities adds; `referral`/`loyalty`
        # there are the resolved referral/loyalty objects, null as none is resolved.
        extra={
            "event": event,
            "event_schema": {"name": body.event},
            "referral": None,
            "loyalty": None,
        },
        now=now,
    )
    return EventCreated(
        type=body.event, customer=customer, metadata=msgspec.Raw(msgspec.json.encode(metadata))
    )
