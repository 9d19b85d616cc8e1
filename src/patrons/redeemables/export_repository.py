"""SQL for exports (exports/ reads vouchers through here): one keyset page of vouchers with
their campaign's name and their holder's source_id.

Added for issue 18's exports; redeemables' own reads stay in repository.py.
"""

from __future__ import annotations

from typing import Any

from patrons.db import keyset
from patrons.db.database import DB, Row

# Sortable columns → whether they may be NULL (the keyset condition spells NULLs out).
SORTABLE = {"created_at": False, "updated_at": True, "code": False}


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
    """Up to `limit` vouchers after `after` = (sort value, id), in (sort, id) order.

    `where` is a filter expression over voucher columns whose parameters start at $2; it is
    applied inside the page's subquery, before the joins, so its column names stay unambiguous.
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
    inner = keyset.order_by(sort, descending=descending, nullable=nullable)
    outer = keyset.order_by(f"v.{sort}", descending=descending, nullable=nullable, id_column="v.id")
    return await db.fetch(
        "SELECT v.*, c.name AS campaign_name, h.source_id AS customer_source_id"
        f" FROM (SELECT * FROM voucher WHERE {conditions}"
        f" ORDER BY {inner} LIMIT {int(limit)}) v"
        " LEFT JOIN campaign c ON c.project_id = v.project_id AND c.id = v.campaign_id"
        " LEFT JOIN customer h ON h.project_id = v.project_id AND h.id = v.holder_id"
        f" ORDER BY {outer}",
        *args,
    )
