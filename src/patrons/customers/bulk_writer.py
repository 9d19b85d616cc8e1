"""Writes a chunk of customer rows in the caller's transaction, on each database's bulk path.

A `RowWrite` is one input row already turned into column changes. `write_chunk` upserts every
row by `source_id` (rows without one are created) and reports, per row, whether it inserted.
PostgreSQL: COPY into a temp staging table, then one `INSERT … SELECT … ON CONFLICT` per set of
changed columns. SQLite: look up the chunk's source_ids, then `executemany` inserts and updates
(the write transaction is exclusive, so the lookup cannot go stale).

Hooks: `write_chunk` returns the written rows with their customer ids and inserted flags, so
activity and segment handling can be added per chunk in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec

from patrons.activities import service as activities
from patrons.core import ids
from patrons.core.origin import Origin
from patrons.customers import repository
from patrons.db import dialect
from patrons.db.database import Conn
from patrons.db.tables import CUSTOMER_COLUMNS
from patrons.segments import membership

# Every writable customer column, in staging/insert order.
WRITABLE = tuple(
    c for c in CUSTOMER_COLUMNS if c not in ("id", "source_id", "created_at", "updated_at")
)
_DEFAULTS: dict[str, Any] = {"address_set": False, "metadata": {}}
REPLACE, PATCH, MERGE_METADATA = "replace", "patch", "merge_metadata"


@dataclass(slots=True)
class RowWrite:
    row_no: int
    source_id: str | None
    # column → value; `metadata` is a dict here and encoded on write.
    changes: dict[str, Any]
    customer_id: str = ""
    inserted: bool = False
    merged_rows: list[int] = field(default_factory=list)


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
            first.changes = row.changes
        else:
            first.changes.update(row.changes)
        first.merged_rows.append(row.row_no)
    return out


def _full_row(row: RowWrite) -> list[Any]:
    values = []
    for column in WRITABLE:
        value = row.changes.get(column, _DEFAULTS.get(column))
        if column == "metadata":
            value = msgspec.json.encode(value).decode()
        values.append(value)
    return values


async def write_chunk(
    conn: Conn, *, kind: str, project_id: str, rows: list[RowWrite], mode: str, now: int
) -> list[RowWrite]:
    rows = dedupe(rows, mode)
    for row in rows:
        row.customer_id = ids.customer_id()
    if kind == dialect.POSTGRESQL:
        await _write_pg(conn, project_id=project_id, rows=rows, mode=mode, now=now)
    else:
        await _write_sqlite(conn, project_id=project_id, rows=rows, mode=mode, now=now)
    inserted = sum(1 for r in rows if r.inserted)
    if inserted:
        await repository.add_to_count(conn, project_id=project_id, delta=inserted)
    return rows


def _set_columns(row: RowWrite, mode: str) -> tuple[str, ...]:
    if mode == REPLACE:
        return WRITABLE
    return tuple(c for c in WRITABLE if c in row.changes)


async def _write_pg(
    conn: Any, *, project_id: str, rows: list[RowWrite], mode: str, now: int
) -> None:
    groups: dict[tuple[str, ...], int] = {}
    records = []
    for index, row in enumerate(rows):
        group = groups.setdefault(_set_columns(row, mode), len(groups))
        records.append((index, group, row.customer_id, row.source_id, *_full_row(row)))
    await conn.execute(
        # Shaped like the customer table itself, so its column types never drift apart.
        "CREATE TEMP TABLE bulk_stage ON COMMIT DROP AS SELECT 0 AS ord, 0 AS grp, id,"
        f" source_id, {', '.join(WRITABLE)} FROM customer WITH NO DATA"
    )
    await conn.copy_records_to_table("bulk_stage", records=records)
    columns = ", ".join(WRITABLE)
    for set_columns, group in groups.items():
        sets = []
        for column in set_columns:
            if column == "metadata" and mode == MERGE_METADATA:
                sets.append("metadata = customer.metadata || EXCLUDED.metadata")
            else:
                sets.append(f"{column} = EXCLUDED.{column}")
        sets.append("updated_at = $2")
        results = await conn.fetch(
            f"INSERT INTO customer (project_id, id, source_id, {columns}, created_at)"
            f" SELECT $1, id, source_id, {columns}, $2 FROM bulk_stage WHERE grp = $3"
            f" ORDER BY ord"
            f" ON CONFLICT (project_id, source_id) DO UPDATE SET {', '.join(sets)}"
            " RETURNING id, source_id, (xmax = 0) AS inserted",
            project_id,
            now,
            group,
        )
        by_source = {r["source_id"]: r for r in results if r["source_id"] is not None}
        for row in rows:
            hit = by_source.get(row.source_id) if row.source_id is not None else None
            if hit is not None:
                row.customer_id = hit["id"]
                row.inserted = hit["inserted"]
            elif row.source_id is None and groups[_set_columns(row, mode)] == group:
                row.inserted = True


async def _write_sqlite(
    conn: Conn, *, project_id: str, rows: list[RowWrite], mode: str, now: int
) -> None:
    existing: dict[str, tuple[str, str]] = {}
    keys = [r.source_id for r in rows if r.source_id is not None]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        marks = ", ".join(f"${i + 2}" for i in range(len(batch)))
        for hit in await conn.fetch(
            f"SELECT source_id, id, metadata FROM customer"
            f" WHERE project_id = $1 AND source_id IN ({marks})",
            project_id,
            *batch,
        ):
            existing[hit["source_id"]] = (hit["id"], hit["metadata"])
    inserts: list[list[Any]] = []
    updates: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for row in rows:
        found = existing.get(row.source_id) if row.source_id is not None else None
        if found is None:
            row.inserted = True
            inserts.append([project_id, row.customer_id, row.source_id, *_full_row(row), now])
            continue
        row.customer_id = found[0]
        set_columns = _set_columns(row, mode)
        values = []
        for column in set_columns:
            value = row.changes.get(column, _DEFAULTS.get(column))
            if column == "metadata":
                if mode == MERGE_METADATA:
                    value = {**msgspec.json.decode(found[1] or "{}"), **value}
                value = msgspec.json.encode(value).decode()
            values.append(value)
        updates[set_columns].append([*values, now, project_id, row.customer_id])
    columns = ", ".join(WRITABLE)
    if inserts:
        marks = ", ".join(f"${i}" for i in range(1, len(WRITABLE) + 5))
        await conn.executemany(
            f"INSERT INTO customer (project_id, id, source_id, {columns}, created_at)"
            f" VALUES ({marks})",
            inserts,
        )
    for set_columns, params in updates.items():
        n = len(set_columns)
        sets = ", ".join(f"{c} = ${i + 1}" for i, c in enumerate(set_columns))
        await conn.executemany(
            f"UPDATE customer SET {sets}, updated_at = ${n + 1}"
            f" WHERE project_id = ${n + 2} AND id = ${n + 3}",
            params,
        )


async def record_written(
    conn: Conn, *, project_id: str, rows: list[RowWrite], origin: Origin, now: int
) -> None:
    """What every write gets, per chunk: `customer.created` / `customer.updated` events (two
    statements) and auto-update segment upkeep (one read of the chunk's rows, when the project
    has auto-update segments)."""
    created = [row.customer_id for row in rows if row.inserted]
    updated = [row.customer_id for row in rows if not row.inserted]
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
            conn, project_id=project_id, customer_ids=created + updated
        )
        await membership.on_written(
            conn, project_id=project_id, rows=written, origin=origin, now=now
        )
