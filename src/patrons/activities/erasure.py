"""Permanent deletion's eraser for the event log (`customer_event`); registered by assembly.py.

The person's own events go whole (each snapshots the customer row); other customers' events
whose `extra` payload names them are scrubbed (core/erasure.py's rule). SQL: repository.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.activities import repository
from patrons.core.erasure import Subject, scrub_column
from patrons.db.database import Conn


class ActivitiesEraser:
    counters: tuple[str, ...] = ("customer_events", "activity_mentions")

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing in the event log can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        deleted = await repository.erase_customers(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        values = set(subject.values)
        scrubbed: set[str] = set()  # an event naming two of the values counts once
        for needle in subject.needles:
            for row in await repository.extras_mentioning(
                conn, project_id=project_id, needle=needle
            ):
                if row["id"] in scrubbed:
                    continue
                extra, changed = scrub_column(row["extra"], values)
                if changed:
                    scrubbed.add(row["id"])
                    await repository.set_extra(
                        conn, project_id=project_id, event_id=row["id"], extra=extra
                    )
        return {"customer_events": deleted, "activity_mentions": len(scrubbed)}
