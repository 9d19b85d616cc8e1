"""SQL for writing a chunk of customers at once (customers/bulk_writer.py decides what to write).

Two paths, chosen by bulk_writer through `db.dialect.one_writer_at_a_time`:
- concurrent writers (PostgreSQL): when none of the chunk's source_ids exists, COPY it straight
  into `customer` (a source_id inserted meanwhile by another writer rolls that back); else COPY
  it into a temp staging table shaped like `customer`, then one `INSERT … SELECT … ON
  CONFLICT` per set of changed columns;
- one writer at a time (SQLite): when none of a sample of the chunk's source_ids exists,
  insert it as all new (a source_id existing after all rolls that back); else look the
  source_ids up, then insert the new rows (one statement over a JSON array) and
  `executemany` the updates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from patrons.customers.repository import assignment
from patrons.db import dialect
from patrons.db.database import Conn, Row, kind_of
from patrons.db.savepoint import savepoint
from patrons.db.tables import CUSTOMER_COLUMNS

# Every writable customer column, in staging/insert order.
WRITABLE = tuple(
    c for c in CUSTOMER_COLUMNS if c not in ("id", "source_id", "created_at", "updated_at")
)
_COLUMNS = ", ".join(WRITABLE)
_LOOKUP_BATCH = 500  # source_ids per lookup, well under SQLite's parameter limit
_UNIQUE_VIOLATION = "23505"
_encode = msgspec.json.encode


# --- concurrent writers: new rows straight in, or stage, then upsert ----------------------------


async def any_exists(conn: Conn, *, project_id: str, source_ids: Sequence[str]) -> bool:
    """Whether one of `source_ids` names a live customer (one statement, index lookups)."""
    kind = kind_of(conn)
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM customer WHERE project_id = $1"
            f" AND {dialect.any_of_sql(kind, 'source_id', '$2')})",
            project_id,
            dialect.list_param(kind, list(source_ids)),
        )
    )


async def copy_new(conn: Any, *, project_id: str, records: Iterable[Sequence[Any]]) -> bool:
    """COPY new customers of `project_id` — whole rows, `(project_id, id, source_id,
    *WRITABLE, created_at)` — straight into the table, under a savepoint. False, with nothing
    written, when one of their source_ids exists by now (another writer inserted it since the
    caller looked): the caller upserts instead. PostgreSQL only (asyncpg's COPY)."""
    try:
        async with savepoint(conn):
            await conn.copy_records_to_table(
                "customer",
                records=records,
                columns=["project_id", "id", "source_id", *WRITABLE, "created_at"],
            )
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION:
            return False
        raise
    return True


async def upsert_staged(
    conn: Any,
    *,
    project_id: str,
    records: Sequence[Sequence[Any]],
    groups: Sequence[Sequence[str]],
    merge_metadata: bool,
    now: int,
    replace: bool = False,
) -> list[list[Row]]:
    """COPY `(ord, grp, id, source_id, *WRITABLE, created_at)` records into a staging table
    (dropped at the end), then per group insert its rows in `ord` order, updating the group's
    columns of existing source_ids (`metadata` merged key by key when `merge_metadata`). Per
    group, the rows written: id, source_id, inserted. PostgreSQL only (asyncpg's COPY, `xmax`)."""
    await conn.execute(
        # Shaped like the customer table itself, so its column types never drift apart.
        "CREATE TEMP TABLE bulk_stage ON COMMIT DROP AS SELECT 0 AS ord, 0 AS grp, id,"
        f" source_id, {_COLUMNS}, created_at FROM customer WITH NO DATA"
    )
    await conn.copy_records_to_table("bulk_stage", records=records)
    written = []
    for group, set_columns in enumerate(groups):
        sets = []
        for column in set_columns:
            if column == "metadata" and merge_metadata:
                sets.append("metadata = customer.metadata || EXCLUDED.metadata")
            elif column == "address_keys" and not replace:
                sets.append(assignment(column, "EXCLUDED.address_keys"))
            else:
                sets.append(f"{column} = EXCLUDED.{column}")
        sets.append("updated_at = $2")
        written.append(
            await conn.fetch(
                f"INSERT INTO customer (project_id, id, source_id, {_COLUMNS}, created_at)"
                f" SELECT $1, id, source_id, {_COLUMNS}, created_at FROM bulk_stage"
                " WHERE grp = $3"
                " ORDER BY ord"
                f" ON CONFLICT (project_id, source_id) DO UPDATE SET {', '.join(sets)}"
                " RETURNING id, source_id, (xmax = 0) AS inserted",
                project_id,
                now,
                group,
            )
        )
    # Dropped now, not only at commit: a chunk split after a refused row stages again.
    await conn.execute("DROP TABLE bulk_stage")
    return written


# --- one writer at a time: look up, then write --------------------------------------------------


async def find_by_source_ids(
    conn: Conn, *, project_id: str, source_ids: Sequence[str]
) -> list[Row]:
    """The live customers among `source_ids`: source_id, id, metadata."""
    found: list[Row] = []
    for start in range(0, len(source_ids), _LOOKUP_BATCH):
        batch = source_ids[start : start + _LOOKUP_BATCH]
        marks = ", ".join(f"${i + 2}" for i in range(len(batch)))
        found += await conn.fetch(
            f"SELECT source_id, id, metadata FROM customer"
            f" WHERE project_id = $1 AND source_id IN ({marks})",
            project_id,
            *batch,
        )
    return found


async def insert_many(conn: Conn, *, project_id: str, rows: Sequence[Sequence[Any]]) -> None:
    """New customers, each `(id, source_id, *WRITABLE, created_at)`.

    One statement over the rows as one JSON array, not an `executemany`: sqlite3 takes the
    GIL back for every row of an executemany, and while the worker's other thread converts
    the next chunk (pure Python) each take waited up to a switch interval — the insert then
    crawled (14x slower in a micro-benchmark) instead of overlapping the conversion; the one
    statement runs without the GIL throughout. Text holding a NUL, which SQLite's JSON
    functions cut, is bound as parameters instead."""
    payload = _encode(rows).decode()
    if "\\u0000" not in payload:
        await conn.execute(_INSERT_FROM_JSON, project_id, payload)
        return
    marks = ", ".join(f"${i}" for i in range(1, len(WRITABLE) + 5))
    await conn.executemany(
        f"INSERT INTO customer (project_id, id, source_id, {_COLUMNS}, created_at)"
        f" VALUES ({marks})",
        [(project_id, *row) for row in rows],
    )


_INSERT_FROM_JSON = (
    f"INSERT INTO customer (project_id, id, source_id, {_COLUMNS}, created_at) SELECT $1, "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(WRITABLE) + 3))
    + " FROM json_each($2)"
)


async def insert_new(conn: Conn, *, project_id: str, rows: Sequence[Sequence[Any]]) -> bool:
    """`insert_many` under a savepoint, for rows the caller believes new (none of a sample of
    their source_ids exists): False, with nothing written, when one of their source_ids does
    exist (the caller looks them up and upserts instead)."""
    try:
        async with savepoint(conn):
            await insert_many(conn, project_id=project_id, rows=rows)
    except sqlite3.IntegrityError as exc:
        if "customer.source_id" in str(exc):  # UNIQUE constraint failed: …, customer.source_id
            return False
        raise
    return True


async def update_many(
    conn: Conn,
    *,
    project_id: str,
    set_columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    now: int,
    replace: bool = False,
) -> None:
    """Existing customers, each `(*values of set_columns, id)`; `address_keys` merges unless
    the rows `replace` the customers whole (CSV)."""
    n = len(set_columns)
    sets = ", ".join(
        f"{c} = ${i + 1}" if replace else assignment(c, f"${i + 1}")
        for i, c in enumerate(set_columns)
    )
    await conn.executemany(
        f"UPDATE customer SET {sets}, updated_at = ${n + 1}"
        f" WHERE project_id = ${n + 2} AND id = ${n + 3}",
        [(*row[:-1], now, project_id, row[-1]) for row in rows],
    )
