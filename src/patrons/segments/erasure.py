"""Permanent deletion's eraser for segment memberships (`segment_member`); registered by
assembly.py. Static and auto-update memberships go; segment rules are operator-written and
not searched. SQL: repository.py."""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject
from patrons.db.database import Conn
from patrons.segments import repository


class SegmentsEraser:
    counters: tuple[str, ...] = ("segments",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing in a segment can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        deleted = await repository.erase_customers(
            conn, project_id=project_id, customer_ids=subject.customer_ids
        )
        return {"segments": deleted}
