"""Segments: create (static list or rule), get, list, delete; what a customer belongs to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec
from msgspec import Raw

from patrons.core import ids, pagination
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload, InvalidQueryParams, NotFound
from patrons.core.filters import Rule
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.segments import repository, rules
from patrons.segments.schemas import (
    AUTO_UPDATE,
    MAX_RULE_SEGMENTS,
    MAX_STATIC_CUSTOMERS,
    PASSIVE,
    STATIC,
    TYPES,
    CustomerSegmentList,
    Segment,
    SegmentCreate,
    SegmentList,
    SimpleSegment,
)

# customer refs (ids or source_ids) → {ref: customer id} for the ones that exist
Resolver = Callable[[Conn, str, Sequence[str]], Awaitable[dict[str, str]]]

_rules: dict[str, Rule] = {}


def rule_of(row: Mapping[str, Any]) -> Rule:
    """The parsed rule of a stored segment (parsed once per distinct filter text)."""
    text = row["filter"]
    if not isinstance(text, str):
        text = msgspec.json.encode(text).decode()
    rule = _rules.get(text)
    if rule is None:
        if len(_rules) > 10_000:
            _rules.clear()
        rule = _rules[text] = rules.parse(msgspec.json.decode(text))
    return rule


def segment_to_wire(row: Row) -> Segment:
    text = row["filter"]
    return Segment(
        id=row["id"],
        name=row["name"],
        created_at=format_ms(row["created_at"]),
        updated_at=None if row["updated_at"] is None else format_ms(row["updated_at"]),
        type=row["type"],
        filter=None if text is None else Raw(text.encode() if isinstance(text, str) else text),
    )


def simple(row: Mapping[str, Any]) -> SimpleSegment:
    return SimpleSegment(id=row["id"], name=row["name"])


async def create(conn: Conn, *, project_id: str, body: SegmentCreate, resolve: Resolver) -> Segment:
    if not body.name.strip():
        raise InvalidPayload("Property .name must NOT be empty")
    if body.type not in TYPES:
        raise InvalidPayload("Property .type must be equal to one of " + ", ".join(TYPES))
    segment_id = ids.segment_id()
    if body.type == STATIC:
        if isinstance(body.filter, dict):
            raise InvalidPayload("Property .filter is not allowed for a static segment")
        refs = body.customers if isinstance(body.customers, list) else []
        if not refs:
            raise InvalidPayload("Property .customers must NOT have fewer than 1 items")
        if len(refs) > MAX_STATIC_CUSTOMERS:
            raise InvalidPayload(
                f"Property .customers must NOT have more than {MAX_STATIC_CUSTOMERS} items"
            )
        found = await resolve(conn, project_id, refs)
        missing = [ref for ref in refs if ref not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise InvalidPayload(f"Property .customers: unknown customers {shown}")
        row = await repository.insert(
            conn,
            project_id=project_id,
            segment_id=segment_id,
            name=body.name,
            type_=STATIC,
            filter_json=None,
            created_at=now_ms(),
        )
        await repository.add_members(
            conn,
            project_id=project_id,
            segment_id=segment_id,
            customer_ids=list(set(found.values())),
        )
        return segment_to_wire(row)
    if not isinstance(body.filter, dict):
        raise InvalidPayload(f"Property .filter is required for a {body.type} segment")
    rule = rules.parse(body.filter)
    if await repository.count(conn, project_id=project_id, types=(AUTO_UPDATE, PASSIVE)) >= (
        MAX_RULE_SEGMENTS
    ):
        raise InvalidPayload(
            f"A project holds at most {MAX_RULE_SEGMENTS} auto-update or passive segments"
        )
    row = await repository.insert(
        conn,
        project_id=project_id,
        segment_id=segment_id,
        name=body.name,
        type_=body.type,
        filter_json=msgspec.json.encode(body.filter).decode(),
        created_at=now_ms(),
    )
    if body.type == AUTO_UPDATE:
        # Initial sync: today's matches become members without entered events.
        sql, args = rules.to_sql(rule, kind=kind_of(conn), first_param=3)
        await repository.add_matching(
            conn, project_id=project_id, segment_id=segment_id, rule_sql=sql, rule_args=args
        )
    return segment_to_wire(row)


async def get_or_raise(db: Database | Conn, *, project_id: str, segment_id: str) -> Row:
    row = await repository.get(db, project_id=project_id, segment_id=segment_id)
    if row is None:
        raise NotFound("segment", segment_id)
    return row


async def get(db: Database, *, project_id: str, segment_id: str) -> Segment:
    return segment_to_wire(await get_or_raise(db, project_id=project_id, segment_id=segment_id))


async def delete(conn: Conn, *, project_id: str, segment_id: str) -> None:
    if not await repository.delete(conn, project_id=project_id, segment_id=segment_id):
        raise NotFound("segment", segment_id)


async def list_(db: Database, *, project_id: str, params: dict[str, str]) -> SegmentList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=100)
    order = params.get("order") or "-created_at"
    if order not in ("created_at", "-created_at"):
        raise InvalidQueryParams("Property .order must be equal to one of created_at, -created_at")
    rows = await repository.list_(
        db,
        project_id=project_id,
        descending=order.startswith("-"),
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await repository.count(db, project_id=project_id)
    return SegmentList(data=[segment_to_wire(r) for r in rows], total=total)


async def member_condition(
    db: Database, *, project_id: str, segment_id: str, first_param: int
) -> tuple[str, list[Any]]:
    """A condition on the customer table selecting the segment's members.

    Static segments: the stored list. Rule segments: the rule itself, evaluated in SQL.
    """
    row = await get_or_raise(db, project_id=project_id, segment_id=segment_id)
    if row["type"] == STATIC:
        return (
            f"id IN (SELECT customer_id FROM segment_member WHERE project_id = $1"
            f" AND segment_id = ${first_param})",
            [segment_id],
        )
    return rules.to_sql(rule_of(row), kind=kind_of(db), first_param=first_param)


async def segments_of(
    db: Database, *, project_id: str, customer: Mapping[str, Any] | None, ref: str
) -> CustomerSegmentList:
    """GET /v1/customers/{id}/segments. For an unknown customer: the rule segments a customer
    with that source_id and nothing else would qualify for (instead of 404, as the spec says)."""
    rows = await repository.of_types(db, project_id=project_id, types=TYPES)
    stored: set[str] = set()
    if customer is not None:
        stored = {
            segment_id
            for _, segment_id in await repository.memberships(
                db, project_id=project_id, customer_ids=[customer["id"]]
            )
        }
    subject = customer if customer is not None else blank_customer(ref)
    found = []
    for row in rows:
        if row["type"] == STATIC:
            member = row["id"] in stored
        else:
            member = rules.matches(rule_of(row), subject)
        if member:
            found.append(simple(row))
    return CustomerSegmentList(data=found, total=len(found))


def blank_customer(source_id: str) -> dict[str, Any]:
    return {
        "id": None,
        "source_id": source_id,
        "name": None,
        "description": None,
        "email": None,
        "phone": None,
        "birthdate": None,
        "birthday": None,
        "address_set": False,
        "address_city": None,
        "address_state": None,
        "address_line_1": None,
        "address_line_2": None,
        "address_country": None,
        "address_postal_code": None,
        "metadata": "{}",
        "created_at": None,
        "updated_at": None,
    }
