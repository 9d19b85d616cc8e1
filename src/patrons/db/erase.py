"""The statement every eraser of rows keyed by customer runs: delete a project's rows of the
given customers from one table, and say how many went."""

from __future__ import annotations

from collections.abc import Sequence

from patrons.db import dialect
from patrons.db.database import Conn, kind_of


async def delete_customer_rows(
    conn: Conn, *, project_id: str, table: str, customer_ids: Sequence[str]
) -> int:
    """`table` is a constant of the caller (never input); it has project_id and customer_id."""
    kind = kind_of(conn)
    rows = await conn.fetch(
        f"DELETE FROM {table} WHERE project_id = $1"
        f" AND customer_id IN {dialect.in_list_sql(kind, '$2')} RETURNING 1",
        project_id,
        dialect.list_param(kind, list(customer_ids)),
    )
    return len(rows)
