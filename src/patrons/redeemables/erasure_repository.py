"""SQL for erasing a customer from what customers hold (redeemables/erasure.py's eraser).

Apart from repository.py to keep each module small; same rules: SQL only, `project_id` first.
"""

from __future__ import annotations

from collections.abc import Sequence

from patrons.db import dialect
from patrons.db.database import Conn, kind_of


async def erase_holdings(
    conn: Conn, *, project_id: str, customer_ids: Sequence[str]
) -> dict[str, int]:
    """Delete the customers' holder rows and publications; unlink the vouchers they held or
    referred with and drop each voucher's publish count by the publications removed, so a
    campaign voucher returns to the pool. The counts."""
    kind = kind_of(conn)
    ids = dialect.list_param(kind, list(customer_ids))
    within = dialect.in_list_sql(kind, "$2")
    published = await conn.fetch(
        "SELECT voucher_id, COUNT(*) AS n FROM publication"
        f" WHERE project_id = $1 AND customer_id IN {within} GROUP BY voucher_id",
        project_id,
        ids,
    )
    publications = await conn.fetch(
        f"DELETE FROM publication WHERE project_id = $1 AND customer_id IN {within} RETURNING id",
        project_id,
        ids,
    )
    holders = await conn.fetch(
        "DELETE FROM redeemable_holder"
        f" WHERE project_id = $1 AND customer_id IN {within} RETURNING id",
        project_id,
        ids,
    )
    for row in published:
        await conn.execute(
            "UPDATE voucher SET publish_count = CASE WHEN publish_count > $3"
            " THEN publish_count - $3 ELSE 0 END WHERE project_id = $1 AND id = $2",
            project_id,
            row["voucher_id"],
            int(row["n"]),
        )
    held = await conn.fetch(
        "UPDATE voucher SET holder_id = NULL"
        f" WHERE project_id = $1 AND holder_id IN {within} RETURNING id",
        project_id,
        ids,
    )
    referred = await conn.fetch(
        "UPDATE voucher SET referrer_id = NULL"
        f" WHERE project_id = $1 AND referrer_id IN {within} RETURNING id",
        project_id,
        ids,
    )
    return {
        "redeemables": len(holders),
        "publications": len(publications),
        "vouchers_released": len({r["id"] for r in held} | {r["id"] for r in referred}),
    }


async def co_holders(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> list[str]:
    """Other customers tied to the same vouchers (referees of their referral code, the
    referrer whose code they used)."""
    kind = kind_of(conn)
    ids = dialect.list_param(kind, list(customer_ids))
    rows = await conn.fetch(
        "SELECT DISTINCT o.customer_id FROM redeemable_holder p JOIN redeemable_holder o"
        " ON o.project_id = p.project_id AND o.redeemable_id = p.redeemable_id"
        f" WHERE p.project_id = $1 AND p.customer_id IN {dialect.in_list_sql(kind, '$2')}"
        f" AND o.customer_id NOT IN {dialect.in_list_sql(kind, '$3')}",
        project_id,
        ids,
        ids,
    )
    return [r["customer_id"] for r in rows]
