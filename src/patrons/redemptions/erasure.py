"""Permanent deletion's eraser for redemptions; registered by assembly.py.

Redemptions and rollbacks are financial records (Voucherify keeps them): they stay,
anonymised — `customer_id` and `tracking_id` cleared, and the person's id, source_id and
e-mail scrubbed from the stored snapshot (the order and voucher as they were).
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject, scrub_column
from patrons.db.database import Conn
from patrons.redemptions import repository


class RedemptionsEraser:
    counters: tuple[str, ...] = ("redemptions",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing about redemptions can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        values = set(subject.values)
        rows = await repository.of_customers(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        for row in rows:
            if row["document"] is None:
                continue
            document, changed = scrub_column(row["document"], values)
            if changed:
                await repository.set_document(
                    conn, project_id=project_id, redemption_id=row["id"], document=document
                )
        anonymised = await repository.anonymise(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        return {"redemptions": anonymised}
