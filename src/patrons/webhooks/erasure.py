"""Permanent deletion's eraser for webhook deliveries; registered by assembly.py.

The person's outbox rows and deliveries go whole (each body carries their customer object,
and a pending one would send it after the erasure); other deliveries whose body names them
(an event about another customer that mentions them) are scrubbed (core/erasure.py's rule).
SQL: repository.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject, scrub_column
from patrons.db.database import Conn
from patrons.webhooks import repository


class WebhooksEraser:
    counters: tuple[str, ...] = ("webhook_deliveries",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing here can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        deleted = await repository.erase_customers(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        values = set(subject.values)
        scrubbed: set[str] = set()
        for needle in subject.needles:
            for row in await repository.bodies_mentioning(
                conn, project_id=project_id, needle=needle
            ):
                if row["id"] in scrubbed:
                    continue
                body, changed = scrub_column(row["body"], values)
                if changed and isinstance(body, str):
                    scrubbed.add(row["id"])
                    await repository.set_body(
                        conn, project_id=project_id, delivery_id=row["id"], body=body
                    )
        return {"webhook_deliveries": deleted + len(scrubbed)}
