"""SQL for the campaign and voucher operations test suites set up and clean up with (issue
17): campaign update/delete, the vouchers list, loyalty card balance changes. Every function
takes `project_id` first."""

from __future__ import annotations

from typing import Any

from patrons.db.database import DB, Conn, Row
from patrons.redeemables.repository import CAMPAIGN_COLUMNS, VOUCHER_SELECT


async def update_campaign(
    conn: Conn, *, project_id: str, campaign_id: str, changes: dict[str, Any]
) -> None:
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    await conn.execute(
        f"UPDATE campaign SET {sets} WHERE project_id = $1 AND id = $2",
        project_id,
        campaign_id,
        *changes.values(),
    )


async def update_campaign_vouchers(
    conn: Conn, *, project_id: str, campaign_id: str, changes: dict[str, Any]
) -> None:
    """The campaign's validity copied onto its vouchers (they carry their own copy)."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    await conn.execute(
        f"UPDATE voucher SET {sets} WHERE project_id = $1 AND campaign_id = $2",
        project_id,
        campaign_id,
        *changes.values(),
    )


async def campaign_holders(conn: Conn, *, project_id: str, campaign_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT customer_id FROM redeemable_holder WHERE project_id = $1"
        " AND campaign_id = $2",
        project_id,
        campaign_id,
    )
    return [r["customer_id"] for r in rows]


async def delete_campaign(conn: Conn, *, project_id: str, campaign_id: str) -> int:
    """The campaign with its vouchers, their holders and publications; vouchers deleted."""
    for table, column in (("redeemable_holder", "campaign_id"), ("publication", "campaign_id")):
        await conn.execute(
            f"DELETE FROM {table} WHERE project_id = $1 AND {column} = $2",
            project_id,
            campaign_id,
        )
    rows = await conn.fetch(
        "DELETE FROM voucher WHERE project_id = $1 AND campaign_id = $2 RETURNING id",
        project_id,
        campaign_id,
    )
    await conn.execute(
        "DELETE FROM campaign WHERE project_id = $1 AND id = $2", project_id, campaign_id
    )
    return len(rows)


async def get_campaign_by_id(db: DB, *, project_id: str, campaign_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE project_id = $1 AND id = $2",
        project_id,
        campaign_id,
    )


async def list_vouchers(
    db: DB, *, project_id: str, campaign_id: str | None, descending: bool, limit: int, offset: int
) -> list[Row]:
    where, args = "v.project_id = $1", [project_id]
    if campaign_id is not None:
        where += " AND v.campaign_id = $2"
        args.append(campaign_id)
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"{VOUCHER_SELECT} WHERE {where} ORDER BY v.created_at {direction}, v.id {direction}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        *args,
    )


async def count_vouchers(db: DB, *, project_id: str, campaign_id: str | None) -> int:
    if campaign_id is None:
        return await db.fetchval("SELECT COUNT(*) FROM voucher WHERE project_id = $1", project_id)
    return await db.fetchval(
        "SELECT COUNT(*) FROM voucher WHERE project_id = $1 AND campaign_id = $2",
        project_id,
        campaign_id,
    )
