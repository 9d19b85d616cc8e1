"""SQL that moves a voucher's counters and balances (redemptions, rollbacks, balance changes).

Every function takes `project_id` first; no query runs without it. Each change is one
conditional UPDATE: it happens only while the voucher still allows it, so two concurrent
redemptions of a voucher with one use left cannot both pass (the second sees the first's row
once it commits, on PostgreSQL, and SQLite writers take turns).
"""

from __future__ import annotations

from collections.abc import Sequence

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of

# What a change returns: the card's balances after it.
_AFTER = " RETURNING id, campaign_id, gift_amount, gift_balance, loyalty_points, loyalty_balance"


async def take(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int, points: int
) -> Row | None:
    """One use more, `credits` off the gift balance and `points` off the loyalty balance; the
    card after it, or None (nothing changed) when a use or enough balance is no longer there."""
    return await conn.fetchrow(
        "UPDATE voucher SET redeemed_quantity = redeemed_quantity + 1,"
        " gift_balance = CASE WHEN gift_balance IS NULL THEN NULL ELSE gift_balance - $3 END,"
        " loyalty_balance = CASE WHEN loyalty_balance IS NULL THEN NULL"
        " ELSE loyalty_balance - $4 END"
        " WHERE project_id = $1 AND id = $2 AND active"
        " AND (redemption_quantity IS NULL OR redeemed_quantity < redemption_quantity)"
        " AND COALESCE(gift_balance, 0) >= $3 AND COALESCE(loyalty_balance, 0) >= $4" + _AFTER,
        project_id,
        voucher_id,
        credits,
        points,
    )


async def give_back(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int, points: int
) -> Row | None:
    """A rolled-back use: the use, the credits and the points return; the card after it, or
    None when the voucher is gone."""
    return await conn.fetchrow(
        "UPDATE voucher SET"
        " redeemed_quantity = CASE WHEN redeemed_quantity > 0 THEN redeemed_quantity - 1"
        " ELSE 0 END,"
        " gift_balance = CASE WHEN gift_balance IS NULL THEN NULL ELSE gift_balance + $3 END,"
        " loyalty_balance = CASE WHEN loyalty_balance IS NULL THEN NULL"
        " ELSE loyalty_balance + $4 END"
        " WHERE project_id = $1 AND id = $2" + _AFTER,
        project_id,
        voucher_id,
        credits,
        points,
    )


async def add_points(conn: Conn, *, project_id: str, voucher_id: str, points: int) -> Row | None:
    """`points` added to the card (negative: taken off); the card after it, or None when the
    balance would go below zero."""
    return await conn.fetchrow(
        "UPDATE voucher SET loyalty_points = loyalty_points + $3,"
        " loyalty_balance = loyalty_balance + $3"
        " WHERE project_id = $1 AND id = $2 AND loyalty_balance + $3 >= 0" + _AFTER,
        project_id,
        voucher_id,
        points,
    )


async def add_gift(conn: Conn, *, project_id: str, voucher_id: str, amount: int) -> Row | None:
    """`amount` added to the gift card (negative: taken off); as add_points."""
    return await conn.fetchrow(
        "UPDATE voucher SET gift_amount = gift_amount + $3, gift_balance = gift_balance + $3"
        " WHERE project_id = $1 AND id = $2 AND gift_balance + $3 >= 0" + _AFTER,
        project_id,
        voucher_id,
        amount,
    )


async def insert_transaction(conn: Conn, *, project_id: str, row: dict[str, object]) -> None:
    """One voucher_transaction row (the columns of db/tables.py but project_id)."""
    columns = ["project_id", *row]
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.execute(
        f"INSERT INTO voucher_transaction ({', '.join(columns)}) VALUES ({marks})",
        project_id,
        *row.values(),
    )


async def list_transactions(
    db: DB,
    *,
    project_id: str,
    voucher_id: str,
    descending: bool,
    after_id: str | None,
    limit: int,
) -> list[Row]:
    """A voucher's transactions by id (creation order), after `after_id` in that order."""
    sql = "SELECT * FROM voucher_transaction WHERE project_id = $1 AND voucher_id = $2"
    args: list[object] = [project_id, voucher_id]
    if after_id is not None:
        sql += " AND id < $3" if descending else " AND id > $3"
        args.append(after_id)
    sql += f" ORDER BY id {'DESC' if descending else 'ASC'} LIMIT {int(limit)}"
    return list(await db.fetch(sql, *args))


async def clear_transaction_texts(conn: Conn, *, project_id: str, values: Sequence[str]) -> int:
    """Permanent deletion: a transaction's source_id or reason naming the person (one of
    `values`) is cleared. How many rows changed."""
    kind = kind_of(conn)
    ids = dialect.list_param(kind, list(values))
    within = [dialect.in_list_sql(kind, f"${n}") for n in (2, 3, 4, 5)]
    rows = await conn.fetch(
        "UPDATE voucher_transaction SET"
        f" source_id = CASE WHEN source_id IN {within[0]} THEN NULL ELSE source_id END,"
        f" reason = CASE WHEN reason IN {within[1]} THEN NULL ELSE reason END"
        f" WHERE project_id = $1 AND (source_id IN {within[2]} OR reason IN {within[3]})"
        " RETURNING id",
        project_id,
        ids,
        ids,
        ids,
        ids,
    )
    return len(rows)
