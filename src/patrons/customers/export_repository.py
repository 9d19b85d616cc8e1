"""SQL for exports (exports/ reads customers through here): one keyset page of customers.

Added for issue 18's exports; customers' own reads stay in repository.py.
"""

from __future__ import annotations

from typing import Any

from patrons.db import keyset
from patrons.db.database import DB, Row
from patrons.db.tables import CUSTOMER_COLUMNS

_COLUMNS = ", ".join((*CUSTOMER_COLUMNS, "summary", "loyalty"))
# Sortable columns → whether they may be NULL (the keyset condition spells NULLs out).
SORTABLE = {
    "id": False,
    "created_at": False,
    "updated_at": True,
    "name": True,
    "email": True,
    "source_id": True,
}


async def page(
    db: DB,
    *,
    project_id: str,
    where: str | None,
    where_args: list[Any],
    sort: str,
    descending: bool,
    after: tuple[Any, str] | None,
    limit: int,
) -> list[Row]:
    """Up to `limit` customers after `after` = (sort value, id), in (sort, id) order.

    `where` is a filter expression over customer columns whose parameters start at $2.
    """
    nullable = SORTABLE[sort]
    conditions, args = keyset.chunk_where(
        project_id,
        where=where,
        where_args=where_args,
        sort=sort,
        descending=descending,
        nullable=nullable,
        last=after,
    )
    order = keyset.order_by(sort, descending=descending, nullable=nullable)
    return await db.fetch(
        f"SELECT {_COLUMNS} FROM customer WHERE {conditions} ORDER BY {order} LIMIT {int(limit)}",
        *args,
    )
