"""SQL for the project tools: one project's rows of any table, by the schema in db.tables.

Table and column names come from `db.tables.metadata` only (never from a file or a user), so
the statements built here are as fixed as a hand-written one; values are always parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from patrons.db.database import Conn, Database, Row


def _project_column(table: sa.Table) -> str:
    """The column naming a row's project: `id` in `project`, `project_id` everywhere else."""
    return "id" if table.name == "project" else "project_id"


def _q(name: str) -> str:
    return f'"{name}"'


def _keyset(table: sa.Table) -> list[str]:
    """The primary key's columns other than the project's, in key order: a page's cursor."""
    pcol = _project_column(table)
    return [c.name for c in table.primary_key.columns if c.name != pcol] or [pcol]


async def fetch_page(
    db: Database | Conn,
    *,
    project_id: str,
    table: sa.Table,
    after: Sequence[Any] | None,
    limit: int,
) -> tuple[list[Row], list[Any] | None]:
    """Up to `limit` of the project's rows of `table` in primary-key order, after the key
    `after` (None: from the start), columns in the table's order; and the key to continue
    after (None when this was the last page)."""
    columns = ", ".join(_q(c.name) for c in table.columns)
    keys = _keyset(table)
    order = ", ".join(_q(k) for k in keys)
    sql = f"SELECT {columns} FROM {_q(table.name)} WHERE {_q(_project_column(table))} = $1"
    args: list[Any] = [project_id]
    if after is not None:
        marks = ", ".join(f"${i + 2}" for i in range(len(keys)))
        sql += f" AND ({order}) > ({marks})"
        args.extend(after)
    sql += f" ORDER BY {order} LIMIT {int(limit)}"
    rows = await db.fetch(sql, *args)
    if len(rows) < limit:
        return rows, None
    return rows, [rows[-1][k] for k in keys]


async def delete_rows(conn: Conn, *, project_id: str, table: sa.Table) -> int:
    """Delete the project's rows of `table`; the number deleted (counted first, in the same
    transaction: a RETURNING list would carry every deleted row back)."""
    count = await count_rows(conn, project_id=project_id, table=table)
    await conn.execute(
        f"DELETE FROM {_q(table.name)} WHERE {_q(_project_column(table))} = $1", project_id
    )
    return count


async def count_rows(db: Database | Conn, *, project_id: str, table: sa.Table) -> int:
    return int(
        await db.fetchval(
            f"SELECT COUNT(*) FROM {_q(table.name)} WHERE {_q(_project_column(table))} = $1",
            project_id,
        )
    )


async def insert_rows(
    conn: Conn,
    *,
    project_id: str,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows of the project; `columns` are columns of `table`. The project column is
    always `project_id`, whatever a row held there."""
    pcol = _project_column(table)
    keep = [i for i, name in enumerate(columns) if name != pcol]
    names = [pcol, *(columns[i] for i in keep)]
    marks = ", ".join(f"${i + 1}" for i in range(len(names)))
    sql = f"INSERT INTO {_q(table.name)} ({', '.join(_q(n) for n in names)}) VALUES ({marks})"
    await conn.executemany(sql, [(project_id, *(row[i] for i in keep)) for row in rows])
