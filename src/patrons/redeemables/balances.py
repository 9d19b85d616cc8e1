"""A voucher's uses and balances as redemptions and rollbacks move them (issue 17).

Called by the redemptions package in its transaction; the voucher's holders get their stored
holdings (the balances still to spend) recomputed in the same transaction.
"""

from __future__ import annotations

from patrons.db.database import Conn, Database, Row
from patrons.redeemables import balance_repository, holdings, repository


async def lock(conn: Conn, *, project_id: str, voucher_id: str) -> Row | None:
    """The voucher (with its campaign's name and type), its row locked for the transaction."""
    return await repository.get_voucher_by_id(
        conn, project_id=project_id, voucher_id=voucher_id, lock=True
    )


async def find(db: Database | Conn, *, project_id: str, ref: str) -> Row | None:
    """A voucher by code or id, or None."""
    return await repository.get_voucher(db, project_id=project_id, ref=ref)


async def take(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int = 0, points: int = 0
) -> bool:
    """Redeem: one use, gift credits and loyalty points taken; False when no longer possible."""
    if not await balance_repository.take(
        conn, project_id=project_id, voucher_id=voucher_id, credits=credits, points=points
    ):
        return False
    await holdings.refresh_voucher_holders(conn, project_id=project_id, voucher_id=voucher_id)
    return True


async def give_back(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int = 0, points: int = 0
) -> bool:
    """Roll back: the use, credits and points return; False when the voucher is gone."""
    if not await balance_repository.give_back(
        conn, project_id=project_id, voucher_id=voucher_id, credits=credits, points=points
    ):
        return False
    await holdings.refresh_voucher_holders(conn, project_id=project_id, voucher_id=voucher_id)
    return True
