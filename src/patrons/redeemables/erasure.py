"""Permanent deletion's eraser for what a customer holds; registered by assembly.py.

The person's `redeemable_holder` rows and publications go; the vouchers they held or referred
with are unlinked and return to the pool (SQL: erasure_repository.py). Customers tied to
the same vouchers (referees of their code, the referrer whose code they used) had the person
counted in their stored holdings: those are recomputed (holdings.refresh, stored through
customers' service). Voucher transactions stay; their source_id or reason naming the person
is cleared (balances.clear_person).
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject
from patrons.db.database import Conn
from patrons.redeemables import balances, holdings
from patrons.redeemables import erasure_repository as repository


class RedeemablesEraser:
    counters: tuple[str, ...] = ("redeemables", "publications", "vouchers_released")

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing a customer holds can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        # Read before the holder rows go: afterwards nothing ties them to the person.
        tied = await repository.co_holders(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        counts = await repository.erase_holdings(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        await holdings.refresh(conn, project_id=project_id, customer_ids=tied)
        # The vouchers' transactions stay (financial records, like redemptions); a source_id
        # or reason given on a balance call that names the person is cleared.
        await balances.clear_person(conn, project_id=project_id, values=subject.values)
        return counts
