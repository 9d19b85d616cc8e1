"""Writes a chunk of customer rows in the caller's transaction, on each database's bulk path.

A `RowWrite` is one input row already turned into column changes. `write_chunk` upserts every
row by `source_id` (rows without one are created) and reports, per row, whether it inserted.
Rows repeating a source_id are merged first (a statement cannot touch a row twice). Where
writers run concurrently (PostgreSQL) the database settles conflicts in one staged upsert per
set of changed columns; where they run one at a time (SQLite) the chunk's source_ids are looked
up and inserts and updates written apart (the exclusive transaction keeps the lookup fresh).
The SQL is in customers/bulk_repository.py.

`record_written` then adds what every write gets (events, segment upkeep) for the chunk.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.origin import Origin
from patrons.customers import bulk_repository, repository
from patrons.customers.bulk_repository import WRITABLE
from patrons.db import dialect
from patrons.db.database import Conn, kind_of
from patrons.db.tables import CUSTOMER_COLUMNS
from patrons.segments import membership

_DEFAULTS: dict[str, Any] = {"address_set": False, "address_keys": 0, "metadata": {}}
REPLACE, PATCH, MERGE_METADATA = "replace", "patch", "merge_metadata"
COPY_PROBES = 64  # source_ids of a chunk looked up before writing it as all new


@dataclass(slots=True)
class RowWrite:
    row_no: int
    source_id: str | None
    # column → value; `metadata` is a dict here and encoded on write. Empty once `prepare`d
    # (a REPLACE row: its values are then in `full`).
    changes: dict[str, Any]
    customer_id: str = ""
    inserted: bool = False
    created_at: int = 0  # used if the row creates a customer (see `write_chunk`)
    offset: int = 0  # its place in input order among its chunk's rows (see `arrange`)
    # Tuples, not lists (as `full`): a chunk's rows live through several garbage collections,
    # and the collector skips a tuple of plain values once it has seen it (300k-row SQLite
    # import: full collections paused every thread for up to 96 ms, API requests too).
    merged_rows: tuple[int, ...] = ()
    full: tuple[Any, ...] | None = None  # its `_full_row`, built ahead (`prepare`) or when inserted
    # Its event snapshot but for the id and timestamps (`_middle`), when built ahead.
    middle: str | None = None


def _random_tails(n: int) -> list[str]:
    """`n` random strings of 17 hex characters (68 bits), from one urandom read: ids need
    only be unique within a project, where their millisecond prefixes already are."""
    raw = os.urandom(9 * n).hex()
    return [raw[18 * i : 18 * i + 17] for i in range(n)]


def dedupe(rows: list[RowWrite], mode: str) -> list[RowWrite]:
    """One write per source_id (a statement cannot touch a row twice); later rows win."""
    by_source: dict[str, RowWrite] = {}
    out: list[RowWrite] = []
    for row in rows:
        if row.source_id is None:
            out.append(row)
            continue
        first = by_source.get(row.source_id)
        if first is None:
            by_source[row.source_id] = row
            out.append(row)
            continue
        if mode == MERGE_METADATA:
            first.changes["metadata"] = {**first.changes["metadata"], **row.changes["metadata"]}
        elif mode == REPLACE:
            first.changes, first.full, first.middle = row.changes, row.full, row.middle
            first.merged_rows += (row.row_no,)
            continue
        else:
            keys = first.changes.get("address_keys", 0) if row.changes.get("address_set") else 0
            first.changes.update(row.changes)
            if "address_keys" in row.changes:  # the address keys of both rows (see wire.py)
                first.changes["address_keys"] = row.changes["address_keys"] | keys
        first.full = first.middle = None  # merged: built again from the merged changes
        first.merged_rows += (row.row_no,)
    return out


_WITH_DEFAULTS = tuple((column, _DEFAULTS.get(column)) for column in WRITABLE)
_METADATA_AT = WRITABLE.index("metadata")
_MIDDLE_KEYS = ("source_id", *WRITABLE)
assert sorted(("id", *_MIDDLE_KEYS, "created_at", "updated_at")) == sorted(CUSTOMER_COLUMNS)
_encode = msgspec.json.encode
# The snapshot's middle members as a struct: encoded in field order from pre-encoded names,
# half the time of a dict of them (it runs for every imported row).
_Middle = msgspec.defstruct("_Middle", [(str(key), Any) for key in _MIDDLE_KEYS])


def _full_row(row: RowWrite) -> tuple[Any, ...]:
    """The row's WRITABLE values (defaults where it sets none), `metadata` as JSON text."""
    get = row.changes.get
    values = [get(column, default) for column, default in _WITH_DEFAULTS]
    values[_METADATA_AT] = _encode(values[_METADATA_AT]).decode()
    return tuple(values)


def prepare(row: RowWrite, *, snapshot: bool) -> RowWrite:
    """Build ahead — on the thread that converts a chunk's rows, off the chunk's transaction —
    what writing a REPLACE row (it replaces the customer whole) needs: its `_full_row` and,
    when new customers' events are built from their values (`snapshot`), their snapshot's
    `_middle`. Its `changes` are then all in `full` and are dropped: two chunks of rows are
    in memory while one is written, and the dicts were half of a row's size (a 1M-row SQLite
    import's peak RSS is near its 300 MB goal)."""
    row.full = _full_row(row)
    if snapshot:
        row.middle = _middle(row, row.full)
    row.changes = {}
    return row


def _middle(row: RowWrite, full: tuple[Any, ...]) -> str:
    """The snapshot's members from `source_id` through the WRITABLE columns (JSON text
    without its braces): all but the id and the timestamps, which `write_chunk` assigns.
    "" when its metadata is not stored as written (see `_snapshot_metadata`)."""
    metadata = _snapshot_metadata(row.changes.get("metadata") or {}, full[_METADATA_AT])
    if metadata is None:
        return ""
    values = [row.source_id, *full]
    values[1 + _METADATA_AT] = msgspec.Raw(metadata.encode())
    return _encode(_Middle(*values))[1:-1].decode()


def _jsonb_key(item: tuple[str, Any]) -> tuple[int, bytes]:
    key = item[0].encode()
    return len(key), key


def _jsonb_ordered(value: Any) -> Any:
    """`value` with every object's keys in jsonb's order (shorter first, then bytewise);
    `_UNSAFE` if it holds a float (jsonb keeps a number's own digits, which may not be the
    ones msgspec writes, e.g. 1e+20)."""
    if isinstance(value, dict):
        items = []
        for key, member in sorted(value.items(), key=_jsonb_key):
            member = _jsonb_ordered(member)
            if member is _UNSAFE:
                return _UNSAFE
            items.append((key, member))
        return dict(items)
    if isinstance(value, list):
        members = [_jsonb_ordered(member) for member in value]
        return _UNSAFE if any(m is _UNSAFE for m in members) else members
    return _UNSAFE if isinstance(value, float) else value


_UNSAFE = object()


def _snapshot_metadata(metadata: dict[str, Any], encoded: str) -> str | None:
    """The metadata of a COPYed snapshot: as the event log read it back when snapshots were
    jsonb (and as a snapshot built in SQL still reads: db.dialect.customer_snapshot_sql), so
    the wire output does not depend on how the event was written — keys in jsonb's order.
    None when only jsonb itself could say (a float): the event is then recorded in SQL."""
    if all(type(value) is str for value in metadata.values()):  # flat (CSV rows)
        if len(metadata) < 2:
            return encoded
        ordered = sorted(metadata.items(), key=_jsonb_key)
        if list(metadata) == [key for key, _ in ordered]:
            return encoded
        return _encode(dict(ordered)).decode()
    value = _jsonb_ordered(metadata)
    return None if value is _UNSAFE else _encode(value).decode()


def _snapshot(row: RowWrite, full: tuple[Any, ...]) -> str | None:
    """A new customer's event snapshot (the JSON of its columns, as the event log reads them
    back from the row: see db.dialect.customer_snapshot_sql), from its `_full_row`; None when
    it must be built in SQL (see `_middle`). (Customer ids are letters, digits and `_`: no
    escaping.)"""
    middle = row.middle if row.middle is not None else _middle(row, full)
    if not middle:
        return None
    return f'{{"id":"{row.customer_id}",{middle},"created_at":{row.created_at},"updated_at":null}}'


def arrange(rows: list[RowWrite], mode: str) -> list[RowWrite]:
    """A chunk's rows as `write_chunk` writes them: one per source_id (`dedupe`), each with
    its place in input order (`offset`), in source_id order (the lock order). Jobs arrange
    on the thread that converts their rows, off the chunk's transaction."""
    rows = dedupe(rows, mode)
    for offset, row in enumerate(rows):
        row.offset = offset
    return sorted(rows, key=_lock_order)


def _created_at(row: RowWrite) -> int:
    return row.created_at


def _lock_order(row: RowWrite) -> tuple[bool, str]:
    return (row.source_id is None, row.source_id or "")


async def write_chunk(
    conn: Conn,
    *,
    project_id: str,
    rows: list[RowWrite],
    mode: str,
    now: int,
    arranged: bool = False,
    after: int | None = None,
) -> list[RowWrite]:
    """Upsert the rows; returned in the order they were written (by source_id).

    Every row gets its own `created_at`, consecutive milliseconds in input order starting
    after the project's newest customer (and not before `now`): a `starting_after` page,
    whose cursor is a millisecond, then never has to split or widen a group of equal
    timestamps. Rows are written in source_id order, so two jobs touching the same customers
    lock them in the same order and cannot deadlock; a new row's id carries the chunk's
    millisecond of its place in that order (not always its own `created_at`'s). `arranged`:
    the rows are `arrange`d already; `after`: the lowest `created_at` to give (the job's
    chunk before this one may not have committed yet: see `Chunk.after`).
    """
    if not arranged:
        rows = arrange(rows, mode)
    first = await repository.next_created_at(conn, project_id=project_id, now=now)
    first = max(first, after or 0)
    # Ids take the chunk's milliseconds in the order rows are written, so new ones ascend as
    # they are inserted (the id index's right edge: PostgreSQL's COPY of a chunk in lock
    # order took 11% less server CPU than with ids in input order).
    tails = _random_tails(len(rows))
    for rank, row in enumerate(rows):
        row.created_at = first + row.offset
        row.customer_id = ids.ordered_customer_id(first + rank, tails[rank])
    if dialect.one_writer_at_a_time(kind_of(conn)):
        await _look_up_then_write(conn, project_id=project_id, rows=rows, mode=mode, now=now)
    else:
        await _upsert_staged(conn, project_id=project_id, rows=rows, mode=mode, now=now)
    inserted = sum(1 for r in rows if r.inserted)
    if inserted:
        # Bulk chunks keep their own counter slot (see repository.BULK_COUNTER_SLOT).
        await repository.add_to_count(
            conn, project_id=project_id, delta=inserted, slot=repository.BULK_COUNTER_SLOT
        )
    return rows


def _set_columns(row: RowWrite, mode: str) -> tuple[str, ...]:
    if mode == REPLACE:
        return WRITABLE
    return tuple(c for c in WRITABLE if c in row.changes)


async def _upsert_staged(
    conn: Conn, *, project_id: str, rows: list[RowWrite], mode: str, now: int
) -> None:
    """Concurrent writers: the database decides insert vs update per row (ON CONFLICT) —
    unless every row is new (a first import), which is COPYed straight into the table: about
    half the database's work of the staged upsert."""
    if await _copy_if_all_new(conn, project_id=project_id, rows=rows):
        return
    groups: dict[tuple[str, ...], int] = {}
    records = []
    for index, row in enumerate(rows):
        group = groups.setdefault(_set_columns(row, mode), len(groups))
        full = row.full or _full_row(row)
        records.append((index, group, row.customer_id, row.source_id, *full, row.created_at))
    written = await bulk_repository.upsert_staged(
        conn,
        project_id=project_id,
        records=records,
        groups=list(groups),
        merge_metadata=mode == MERGE_METADATA,
        now=now,
        replace=mode == REPLACE,
    )
    for group, results in enumerate(written):
        by_source = {r["source_id"]: r for r in results if r["source_id"] is not None}
        for row in rows:
            hit = by_source.get(row.source_id) if row.source_id is not None else None
            if hit is not None:
                row.customer_id = hit["id"]
                row.inserted = hit["inserted"]
            elif row.source_id is None and groups[_set_columns(row, mode)] == group:
                row.inserted = True


def _probes(source_ids: list[str]) -> list[str]:
    """The sample of a chunk's source_ids looked up before writing it as all new."""
    return source_ids[:: max(1, len(source_ids) // COPY_PROBES)]


async def _copy_if_all_new(conn: Conn, *, project_id: str, rows: list[RowWrite]) -> bool:
    """Write the rows with one COPY if none of their source_ids exists; False, with nothing
    written, when one does. A sample of the source_ids is looked up first (when one of them
    exists the chunk is an update, and the COPY is not tried); the COPY itself refuses the
    rest (a unique violation rolls it back)."""
    sample = _probes([r.source_id for r in rows if r.source_id is not None])
    if sample and await bulk_repository.any_exists(conn, project_id=project_id, source_ids=sample):
        return False
    if not await bulk_repository.copy_new(
        conn, project_id=project_id, records=_whole_records(project_id, rows)
    ):
        return False
    for row in rows:
        row.inserted = True
    return True


def _whole_records(project_id: str, rows: list[RowWrite]) -> Iterator[tuple[Any, ...]]:
    """The rows as COPY records, made as the COPY reads them: asyncpg sends a chunk's COPY
    data in pieces as it encodes them, so building the records overlaps the database's work
    on the pieces already sent (a list built first kept it idle: 3 s of a 1M-row import)."""
    for row in rows:
        full = row.full or _full_row(row)
        yield (project_id, row.customer_id, row.source_id, *full, row.created_at)


async def _look_up_then_write(
    conn: Conn, *, project_id: str, rows: list[RowWrite], mode: str, now: int
) -> None:
    """One writer at a time: what exists cannot change between the lookup and the writes.
    A chunk none of whose sampled source_ids exists (a first import) is inserted as all new
    without the lookup; a source_id that does exist refuses that (nothing written) and the
    chunk is looked up and upserted."""
    source_ids = [r.source_id for r in rows if r.source_id is not None]
    sample = _probes(source_ids)
    if not sample or not await bulk_repository.any_exists(
        conn, project_id=project_id, source_ids=sample
    ):
        new_rows = []
        for row in rows:
            row.full = full = row.full or _full_row(row)
            new_rows.append((row.customer_id, row.source_id, *full, row.created_at))
        if await bulk_repository.insert_new(conn, project_id=project_id, rows=new_rows):
            for row in rows:
                row.inserted = True
            return
    existing: dict[str, tuple[str, str]] = {
        hit["source_id"]: (hit["id"], hit["metadata"])
        for hit in await bulk_repository.find_by_source_ids(
            conn, project_id=project_id, source_ids=source_ids
        )
    }
    inserts: list[list[Any]] = []
    updates: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for row in rows:
        found = existing.get(row.source_id) if row.source_id is not None else None
        if found is None:
            row.inserted = True
            full = row.full or _full_row(row)
            inserts.append([row.customer_id, row.source_id, *full, row.created_at])
            continue
        row.customer_id = found[0]
        set_columns = _set_columns(row, mode)
        if mode == REPLACE:  # every column, as inserting it would write them (`prepare`)
            updates[set_columns].append([*(row.full or _full_row(row)), row.customer_id])
            continue
        values = []
        for column in set_columns:
            value: Any = row.changes.get(column, _DEFAULTS.get(column))
            if column == "metadata":
                if mode == MERGE_METADATA:
                    value = {**msgspec.json.decode(found[1] or "{}"), **value}
                value = msgspec.json.encode(value).decode()
            values.append(value)
        updates[set_columns].append([*values, row.customer_id])
    if inserts:
        await bulk_repository.insert_many(conn, project_id=project_id, rows=inserts)
    for set_columns, params in updates.items():
        await bulk_repository.update_many(
            conn,
            project_id=project_id,
            set_columns=set_columns,
            rows=params,
            now=now,
            replace=mode == REPLACE,
        )


async def record_written(
    conn: Conn, *, project_id: str, rows: list[RowWrite], origin: Origin, now: int
) -> None:
    """What every write gets, per chunk: `customer.created` / `customer.updated` events (two
    statements) and auto-update segment upkeep (one read of the chunk's rows, when the project
    has auto-update segments). Where writers run concurrently (PostgreSQL, which has COPY) the
    new customers' events are COPYed with snapshots built here: a new row is exactly the values
    written, so it need not be read back."""
    created = [row.customer_id for row in rows if row.inserted]
    updated = [row.customer_id for row in rows if not row.inserted]
    written_ids = created + updated
    if created and not dialect.one_writer_at_a_time(kind_of(conn)):
        snapshots = []
        created = []  # those whose snapshot is built in SQL after all (see `_snapshot`)
        # In creation order (the rows come in source_id order, the lock order; events take
        # no lock another writer waits for): their ids and customer ids then both ascend, so
        # each index of the event log appends at its right edge (PostgreSQL's fast path)
        # instead of descending the tree for every row.
        for row in sorted(rows, key=_created_at):
            if row.inserted:
                snapshot = _snapshot(row, row.full or _full_row(row))
                if snapshot is None:
                    created.append(row.customer_id)
                else:
                    snapshots.append((row.customer_id, snapshot))
        await activities.record_snapshots(
            conn,
            project_id=project_id,
            snapshots=snapshots,
            type_="customer.created",
            origin=origin,
            now=now,
        )
    for type_, customer_ids in (("customer.created", created), ("customer.updated", updated)):
        await activities.record(
            conn,
            project_id=project_id,
            customer_ids=customer_ids,
            type_=type_,
            origin=origin,
            now=now,
        )
    if await membership.has_auto_update(conn, project_id=project_id):
        written = await repository.fetch_by_ids(
            conn, project_id=project_id, customer_ids=written_ids
        )
        await membership.on_written(
            conn, project_id=project_id, rows=written, origin=origin, now=now
        )
