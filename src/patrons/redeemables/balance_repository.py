"""SQL that moves a voucher's counters and balances (redemptions, rollbacks, balance changes).

Every function takes `project_id` first; no query runs without it. Each change is one
conditional UPDATE: it happens only while the voucher still allows it, so two concurrent
redemptions of a voucher with one use left cannot both pass (the second sees the first's row
once it commits, on PostgreSQL, and SQLite writers take turns).
"""

from __future__ import annotations

from patrons.db.database import Conn


async def take(conn: Conn, *, project_id: str, voucher_id: str, credits: int, points: int) -> bool:
    """One use more, `credits` off the gift balance and `points` off the loyalty balance;
    False (nothing changed) when a use or enough balance is no longer there."""
    done = await conn.fetchval(
        "UPDATE voucher SET redeemed_quantity = redeemed_quantity + 1,"
        " gift_balance = CASE WHEN gift_balance IS NULL THEN NULL ELSE gift_balance - $3 END,"
        " loyalty_balance = CASE WHEN loyalty_balance IS NULL THEN NULL"
        " ELSE loyalty_balance - $4 END"
        " WHERE project_id = $1 AND id = $2 AND active"
        " AND (redemption_quantity IS NULL OR redeemed_quantity < redemption_quantity)"
        " AND COALESCE(gift_balance, 0) >= $3 AND COALESCE(loyalty_balance, 0) >= $4"
        " RETURNING id",
        project_id,
        voucher_id,
        credits,
        points,
    )
    return done is not None


async def give_back(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int, points: int
) -> bool:
    """A rolled-back use: the use, the credits and the points return; False when the voucher
    is gone."""
    done = await conn.fetchval(
        "UPDATE voucher SET"
        " redeemed_quantity = CASE WHEN redeemed_quantity > 0 THEN redeemed_quantity - 1"
        " ELSE 0 END,"
        " gift_balance = CASE WHEN gift_balance IS NULL THEN NULL ELSE gift_balance + $3 END,"
        " loyalty_balance = CASE WHEN loyalty_balance IS NULL THEN NULL"
        " ELSE loyalty_balance + $4 END"
        " WHERE project_id = $1 AND id = $2 RETURNING id",
        project_id,
        voucher_id,
        credits,
        points,
    )
    return done is not None
