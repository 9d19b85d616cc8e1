"""Permanent deletion's eraser for orders; registered by assembly.py.

Orders are financial records (Voucherify keeps them): they stay, anonymised — the person's id
is removed from `customer_id` and `referrer_id`, so nothing ties the order to them. Amounts,
items and metadata (written by the operator, not searched, like segment rules) remain.
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject
from patrons.db.database import Conn
from patrons.orders import repository


class OrdersEraser:
    counters: tuple[str, ...] = ("orders",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing about orders can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        changed = await repository.anonymise(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        return {"orders": changed}
