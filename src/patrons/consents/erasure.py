"""Permanent deletion's eraser for consents (`customer_consent`); registered by assembly.py.
The copy on the customer row (`system_metadata`) goes with the row. SQL: repository.py."""

from __future__ import annotations

from collections.abc import Mapping

from patrons.consents import repository
from patrons.core.erasure import Subject
from patrons.db.database import Conn


class ConsentsEraser:
    counters: tuple[str, ...] = ("consents",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing about consents can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        deleted = await repository.erase_customers(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        return {"consents": deleted}
