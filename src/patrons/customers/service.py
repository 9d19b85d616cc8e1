"""Customer use cases: resolve, create/upsert, update, delete, list. Never commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET

from patrons.activities import repository as activity_rows
from patrons.activities import service as activities
from patrons.core import ids, pagination
from patrons.core.clock import now_ms
from patrons.core.errors import InvalidPayload, NotFound
from patrons.core.origin import Origin
from patrons.customers import checks, listing, repository
from patrons.customers.schemas import (
    ADDRESS_FIELDS,
    SCALAR_FIELDS,
    Customer,
    CustomerCreate,
    CustomerList,
    CustomerUpdate,
    summary_of,
)
from patrons.customers.wire import ADDRESS_BITS, customer_to_wire, rows_to_wire
from patrons.customers.wire import ADDRESS_COLUMNS as _ADDRESS_COLUMNS
from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.segments import membership
from patrons.segments import service as segments
from patrons.webhooks import repository as webhook_rows
from patrons.webhooks import service as webhooks


def column_changes(body: CustomerUpdate) -> dict[str, Any]:
    """The columns a CustomerBase body sets: absent fields are left out, nulls clear.

    `address` merges key by key (null clears the whole address); `metadata` replaces.
    """
    changes: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        value = getattr(body, name)
        if value is not UNSET:
            changes[name] = value.isoformat() if isinstance(value, date) else value
    address = body.address
    if address is None:
        changes["address_set"] = False
        changes.update(dict.fromkeys(_ADDRESS_COLUMNS))
        changes["address_keys"] = 0
    elif address is not UNSET:
        changes["address_set"] = True
        mask = 0
        for name, column in zip(ADDRESS_FIELDS, _ADDRESS_COLUMNS, strict=True):
            value = getattr(address, name)
            if value is not UNSET:
                changes[column] = value
                mask |= ADDRESS_BITS[column]
        # Written as is by an insert; merged by an update (repository.assignment): added to
        # the keys already sent, or replacing them when the address was null.
        changes["address_keys"] = mask
    if body.metadata is not UNSET:
        changes["metadata"] = body.metadata or {}
    return changes


def _for_sql(changes: dict[str, Any]) -> dict[str, Any]:
    """`metadata` as JSON text, as both drivers take it."""
    if "metadata" in changes:
        return {**changes, "metadata": msgspec.json.encode(changes["metadata"]).decode()}
    return changes


def _checked(changes: dict[str, Any], *, source_id: Any = None) -> dict[str, Any]:
    """The changes within the field limits (core/limits.py) as SQL values; else 400."""
    reason = checks.problem(changes, source_id=source_id)
    if reason is not None:
        raise InvalidPayload(checks.as_property(reason))
    return _for_sql(changes)


async def resolve(db: Database | Conn, *, project_id: str, ref: str) -> Row | None:
    """A live customer by `cust_` id or, failing that, by source_id: the one id-or-source_id
    lookup. `ref` comes decoded from http.requests, which has refused NUL already."""
    if ref.startswith("cust_"):
        row = await repository.get_by_id(db, project_id=project_id, customer_id=ref)
        if row is not None:
            return row
    return await repository.get_by_source_id(db, project_id=project_id, source_id=ref)


async def resolve_by_email(db: Database | Conn, *, project_id: str, email: str) -> Row | None:
    """The live customer an e-mail names (the oldest when several share it; matched
    case-insensitively): how a publication names a customer given by `email` alone."""
    return await repository.get_by_email(db, project_id=project_id, email=email)


async def get_or_raise(db: Database | Conn, *, project_id: str, ref: str) -> Row:
    row = await resolve(db, project_id=project_id, ref=ref)
    if row is None:
        raise NotFound("customer", ref)
    return row


async def get(db: Database | Conn, *, project_id: str, ref: str) -> Customer:
    # get_or_raise → resolve, inlined: the GET-by-id lane's every coroutine layer counts.
    row = None
    if ref.startswith("cust_"):
        row = await repository.get_by_id(db, project_id=project_id, customer_id=ref)
    if row is None:
        row = await repository.get_by_source_id(db, project_id=project_id, source_id=ref)
        if row is None:
            raise NotFound("customer", ref)
    return rows_to_wire((row,), columns=repository.READ_COLUMNS)[0]


# Projects whose last single-customer write found auto-update segments: their writes go
# straight to a transaction (membership upkeep needs more than one statement). A hint only —
# every write re-reads the fact in its own statement, so a stale entry costs a round trip,
# never a missed or spurious segment event (another process may create or delete segments).
_AUTO_SEGMENTS_SEEN: set[str] = set()


def _note_auto_segments(project_id: str, present: bool) -> None:
    if present:
        _AUTO_SEGMENTS_SEEN.add(project_id)
    else:
        _AUTO_SEGMENTS_SEEN.discard(project_id)


class _Write:
    """One single-customer write, as customers.repository.write_recorded takes it."""

    __slots__ = ("by", "changes", "how", "missing", "target", "values")

    def __init__(
        self,
        how: str,
        *,
        values: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
        by: str = "id",
        target: str | None = None,
        missing: str | None = None,
    ) -> None:
        self.how, self.values, self.changes = how, values, changes
        self.by, self.target, self.missing = by, target, missing


def _upsert_write(body: CustomerCreate, now: int) -> _Write:
    """POST /v1/customers: update the customer named by `id` (else `source_id`), or create."""
    changes = _checked(column_changes(body), source_id=body.source_id)
    if isinstance(body.id, str):
        return _Write(
            "update", changes={**changes, "updated_at": now}, target=body.id, missing=body.id
        )
    source_id = body.source_id if isinstance(body.source_id, str) and body.source_id else None
    values = {
        "id": ids.ordered_customer_id(now),
        "source_id": source_id,
        **changes,
        "created_at": now,
    }
    if source_id is None:
        return _Write("insert", values=values)
    return _Write("upsert", values=values, changes={**changes, "updated_at": now})


def _update_write(ref: str, body: CustomerUpdate, now: int) -> _Write:
    """PUT /v1/customers/{ref}: `ref` is an id naming a live customer, else a source_id."""
    changes = {**_checked(column_changes(body)), "updated_at": now}
    by = "ref" if ref.startswith("cust_") else "source_id"
    return _Write("update", changes=changes, by=by, target=ref, missing=ref)


async def _write_alone(
    db: Database, *, project_id: str, write: _Write, origin: Origin, now: int
) -> Customer | None:
    """The write as one autocommit statement, where the database can and the project (as last
    seen) has no auto-update segments; None when it must run in a transaction instead."""
    if not dialect.data_modifying_ctes(db.kind) or project_id in _AUTO_SEGMENTS_SEEN:
        return None
    row, auto_segments = await repository.write_recorded(
        db,
        project_id=project_id,
        how=write.how,
        values=write.values,
        changes=write.changes,
        by=write.by,
        target=write.target,
        events=activities.WrittenEvents(origin, now=now),
        auto_update_sql=membership.AUTO_UPDATE_EXISTS_SQL,
        guarded=True,  # nothing is written when segment upkeep is due
    )
    if auto_segments:
        _note_auto_segments(project_id, True)
        return None
    if row is None:
        raise NotFound("customer", write.missing or "")
    return customer_to_wire(row)


async def _write_recorded(
    conn: Conn, *, project_id: str, write: _Write, origin: Origin, now: int
) -> Customer:
    """Every single-customer write ends here, in the caller's transaction: the row, its
    created/updated event, the counter, and the auto-update segment upkeep."""
    if dialect.data_modifying_ctes(kind_of(conn)):
        row, auto_segments = await repository.write_recorded(
            conn,
            project_id=project_id,
            how=write.how,
            values=write.values,
            changes=write.changes,
            by=write.by,
            target=write.target,
            events=activities.WrittenEvents(origin, now=now),
            auto_update_sql=membership.AUTO_UPDATE_EXISTS_SQL,
            guarded=False,
        )
        if row is None:
            raise NotFound("customer", write.missing or "")
    else:
        # BEGIN IMMEDIATE, the write (its RETURNING says whether auto-update segments and an
        # active webhook exist), the counter when fresh, the event by the row's key, the
        # outbox row only when a webhook is active, COMMIT: no statement only to ask.
        row = await _write_statements(conn, project_id=project_id, write=write)
        auto_segments = bool(row["auto_segments"])
        events = activities.WrittenEvents(origin, now=now)
        await activity_rows.record_written(
            conn, project_id=project_id, customer_id=row["id"], args=events.args
        )
        if row["webhook_active"]:
            event = {"id": events.event_id, "customer_id": row["id"], "created_at": now}
            await webhooks.add_to_outbox(conn, project_id=project_id, events=[event])
    _note_auto_segments(project_id, auto_segments)
    if auto_segments:
        await membership.on_written(conn, project_id=project_id, rows=[row], origin=origin, now=now)
    return customer_to_wire(row)


async def _write_statements(conn: Conn, *, project_id: str, write: _Write) -> Row:
    """The row and its counter as separate statements (databases without data-modifying
    CTEs); the row carries `auto_segments` and `webhook_active` too."""
    also = membership.AUTO_UPDATE_EXISTS_SQL
    webhook = webhook_rows.HAS_ACTIVE_SQL
    if write.how == "update":
        assert write.target is not None
        assert write.changes is not None
        row = await repository.update(
            conn,
            project_id=project_id,
            by=write.by,
            target=write.target,
            changes=write.changes,
            also=also,
            webhook=webhook,
        )
        if row is None:
            raise NotFound("customer", write.missing or "")
        return row
    assert write.values is not None
    if write.how == "insert":
        row = await repository.insert(
            conn, project_id=project_id, values=write.values, also=also, webhook=webhook
        )
    else:
        assert write.changes is not None
        row = await repository.upsert_by_source_id(
            conn,
            project_id=project_id,
            values=write.values,
            changes=write.changes,
            also=also,
            webhook=webhook,
        )
    if row["updated_at"] is None:  # a fresh row; an upserted one has updated_at set
        await repository.add_to_count(conn, project_id=project_id, delta=1)
    return row


async def resolve_many(conn: Conn, project_id: str, refs: Sequence[str]) -> dict[str, str]:
    """{ref: customer id} for the refs (ids or source_ids) naming live customers."""
    found: dict[str, str] = {}
    for row in await repository.find_many(conn, project_id=project_id, refs=refs):
        if row["source_id"] is not None:
            found.setdefault(row["source_id"], row["id"])
        found[row["id"]] = row["id"]  # an id wins over an equal source_id
    return found


async def upsert(conn: Conn, *, project_id: str, body: CustomerCreate, origin: Origin) -> Customer:
    """POST /v1/customers in the caller's transaction (publications name customers inline)."""
    now = now_ms()
    write = _upsert_write(body, now)
    return await _write_recorded(conn, project_id=project_id, write=write, origin=origin, now=now)


async def upsert_alone(
    db: Database, *, project_id: str, body: CustomerCreate, origin: Origin
) -> Customer:
    """POST /v1/customers as a request of its own: one statement where it can be, else
    `upsert` in one transaction."""
    now = now_ms()
    write = _upsert_write(body, now)
    done = await _write_alone(db, project_id=project_id, write=write, origin=origin, now=now)
    if done is not None:
        return done
    async with db.transaction() as conn:
        return await _write_recorded(
            conn, project_id=project_id, write=write, origin=origin, now=now
        )


async def update(
    conn: Conn, *, project_id: str, ref: str, body: CustomerUpdate, origin: Origin
) -> Customer:
    now = now_ms()
    write = _update_write(ref, body, now)
    return await _write_recorded(conn, project_id=project_id, write=write, origin=origin, now=now)


async def update_alone(
    db: Database, *, project_id: str, ref: str, body: CustomerUpdate, origin: Origin
) -> Customer:
    """PUT /v1/customers/{ref} as a request of its own (see upsert_alone)."""
    now = now_ms()
    write = _update_write(ref, body, now)
    done = await _write_alone(db, project_id=project_id, write=write, origin=origin, now=now)
    if done is not None:
        return done
    async with db.transaction() as conn:
        return await _write_recorded(
            conn, project_id=project_id, write=write, origin=origin, now=now
        )


async def delete(conn: Conn, *, project_id: str, ref: str, origin: Origin) -> None:
    current = await get_or_raise(conn, project_id=project_id, ref=ref)
    slot = await repository.hold_count(conn, project_id=project_id)  # the lock order: see there
    # Recorded first: the event snapshots the row before it leaves the live table.
    await activities.record(
        conn,
        project_id=project_id,
        customer_ids=[current["id"]],
        type_="customer.deleted",
        origin=origin,
    )
    if not await repository.soft_delete(
        conn, project_id=project_id, customer_id=current["id"], deleted_at=now_ms()
    ):
        raise NotFound("customer", ref)
    await membership.on_deleted(conn, project_id=project_id, customer_id=current["id"])
    await repository.add_to_count(conn, project_id=project_id, delta=-1, slot=slot)


async def set_holdings(
    conn: Conn,
    *,
    project_id: str,
    customer_id: str,
    summary: Mapping[str, Any],
    loyalty: str | None,
    referrals: str | None,
) -> None:
    """Store the `loyalty`/`referrals` JSON that redeemables/holdings.py computes from what the
    customer holds, and lay its part of `summary` (the balances still to spend) over the
    stored one, whose redemption and order figures other packages keep (`update_summary`):
    the columns are the customer's, so customers writes them."""
    exists, stored = await repository.lock_summary(
        conn, project_id=project_id, customer_id=customer_id
    )
    if not exists:
        return
    await repository.set_holdings(
        conn,
        project_id=project_id,
        customer_id=customer_id,
        summary=msgspec.json.encode(merge_summary(stored, summary)).decode(),
        loyalty=loyalty,
        referrals=referrals,
    )


def merge_summary(stored: str | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The stored `summary` (or the empty one) with `patch` laid over it: objects merge key by
    key, other values replace."""
    merged = summary_of() if stored is None else msgspec.json.decode(stored)

    def lay(into: dict[str, Any], over: Mapping[str, Any]) -> None:
        for key, value in over.items():
            if isinstance(value, Mapping) and isinstance(into.get(key), dict):
                lay(into[key], value)
            else:
                into[key] = value

    lay(merged, patch)
    return merged


async def update_summary(
    conn: Conn,
    *,
    project_id: str,
    customer_id: str,
    patch_of: Callable[[], Awaitable[Mapping[str, Any]]],
) -> None:
    """Lay the part of the customer's `summary` another package computes (orders, redemptions,
    the balances of what it holds) over the stored one. The row is locked first and `patch_of`
    called after, so a figure aggregated from the caller's tables counts every transaction
    committed before this one: concurrent writers of one customer's summary take turns."""
    exists, stored = await repository.lock_summary(
        conn, project_id=project_id, customer_id=customer_id
    )
    if not exists:
        return
    merged = merge_summary(stored, await patch_of())
    await repository.set_summary(
        conn,
        project_id=project_id,
        customer_id=customer_id,
        summary=msgspec.json.encode(merged).decode(),
    )


async def set_system_metadata(
    conn: Conn,
    *,
    project_id: str,
    customer_id: str,
    value_of: Callable[[], Awaitable[Mapping[str, Any]]],
) -> bool:
    """Store the customer's wire `system_metadata`, which another package computes from its
    own tables (consents/): the row is locked first and `value_of` called after, as in
    `update_summary`. False when the customer does not exist (nothing stored)."""
    exists, _ = await repository.lock_summary(conn, project_id=project_id, customer_id=customer_id)
    if not exists:
        return False
    value = await value_of()
    await repository.set_system_metadata(
        conn,
        project_id=project_id,
        customer_id=customer_id,
        system_metadata=msgspec.json.encode(value).decode() if value else None,
    )
    return True


# A filtered page whose matches number at most this is read filter-first (see
# repository.fetch_page): sorting that many keys costs less than the worst index walk.
FILTER_FIRST_MAX = 20_000


async def list_(db: Database, *, project_id: str, params: dict[str, str]) -> CustomerList:
    q = listing.parse(params)
    if q.segment_id is not None:
        sql, segment_args = await segments.member_condition(
            db, project_id=project_id, segment_id=q.segment_id, first_param=len(q.args) + 2
        )
        q.where.append(sql)
        q.args.extend(segment_args)
    total = await _total(db, project_id=project_id, q=q)
    where, args = list(q.where), list(q.args)
    cursor = listing.cursor_condition(q)
    if cursor is not None:
        args.append(q.starting_after)
        where.append(cursor.format(f"${len(args) + 1}"))
    order_by = listing.order_by(q)
    rows = await repository.fetch_page(
        db,
        project_id=project_id,
        where=where,
        args=args,
        order_by=order_by,
        limit=pagination.fetch_size(q.limit),
        offset=pagination.offset(q.page, q.limit),
        filter_first=bool(q.where)
        and total <= FILTER_FIRST_MAX
        and not listing.sorts_by_filtered_column(q),
        sort_column=q.column,
    )
    page, has_more = pagination.split(rows, q.limit)
    if has_more and cursor is not None and q.column == "created_at" and q.page == 1:
        page = await _whole_millisecond_groups(
            db,
            project_id=project_id,
            rows=rows,
            limit=q.limit,
            where=where,
            args=args,
            order_by=order_by,
        )
    customers = rows_to_wire(page, columns=repository.READ_COLUMNS)
    return CustomerList(customers=customers, total=total, has_more=has_more)


# Per process: the `created_at` that splits each project's customers in two halves, and when
# it was read. Only decides which side of a `created_at` bound is counted — both give the
# exact total — so a stale or missing value costs speed, never correctness.
_MEDIAN_SECONDS = 300.0
_MEDIANS: dict[str, tuple[float, int]] = {}
_MEDIAN_READS: dict[str, asyncio.Task[None]] = {}


async def _read_median(db: Database, project_id: str) -> None:
    try:
        count = await repository.live_count(db, project_id=project_id)
        median = await repository.created_at_rank(db, project_id=project_id, position=count // 2)
        if median is not None:
            _MEDIANS[project_id] = (time.monotonic(), median)
    finally:
        _MEDIAN_READS.pop(project_id, None)


def _median_created_at(db: Database, project_id: str) -> int | None:
    """The cached split point; a stale or missing one is (re)read in the background."""
    known = _MEDIANS.get(project_id)
    if (known is None or time.monotonic() - known[0] > _MEDIAN_SECONDS) and (
        project_id not in _MEDIAN_READS
    ):
        _MEDIAN_READS[project_id] = asyncio.get_running_loop().create_task(
            _read_median(db, project_id)
        )
    return None if known is None else known[1]


async def _total(db: Database, *, project_id: str, q: listing.ListQuery) -> int:
    """The list's exact `total`: the live-customer counter unfiltered; a lone date bound from
    the day counts where they are kept (PostgreSQL), else (a `created_at` bound) an index-only
    count of the smaller side; else an indexed COUNT of the filters."""
    if not q.where:
        return await repository.live_count(db, project_id=project_id)
    lone = listing.lone_range(q)
    if lone is not None and dialect.day_counts(db.kind):
        column, op, value = lone
        return await repository.count_by_days(
            db, project_id=project_id, column=column, op=op, value=value
        )
    bound = listing.created_range_only(q)
    if bound is not None:
        op, value = bound
        median = _median_created_at(db, project_id)
        if median is not None:
            larger = value < median if op == ">" else value > median
            return await repository.count_created(
                db, project_id=project_id, op=op, value=value, from_other_side=larger
            )
    return await repository.count(db, project_id=project_id, where=q.where, args=q.args)


async def _whole_millisecond_groups(
    db: Database,
    *,
    project_id: str,
    rows: list[Row],
    limit: int,
    where: list[str],
    args: list[Any],
    order_by: str,
) -> list[Row]:
    """Keep a cursor page from ending inside a group of customers created in one millisecond.

    The `starting_after` cursor is a timestamp: a client continues from the last `created_at`
    it saw, so a page that split such a group would make it skip the rest of the group. The
    page is cut back to the group's start, or — when one group fills the whole page — widened
    to the entire group.
    """
    boundary = rows[limit]["created_at"]
    if rows[limit - 1]["created_at"] != boundary:
        return rows[:limit]
    kept = [r for r in rows[:limit] if r["created_at"] != boundary]
    if kept:
        return kept
    return await repository.fetch_page(
        db,
        project_id=project_id,
        where=[*where, f"created_at = ${len(args) + 2}"],
        args=[*args, boundary],
        order_by=order_by,
        limit=100_000,
    )
