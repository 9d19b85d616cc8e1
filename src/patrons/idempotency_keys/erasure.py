"""Permanent deletion's eraser for stored idempotent responses; registered by assembly.py.

A stored response whose body names the person is deleted whole (its key is freed): replaying
it would hand out their data, and a response is not worth rewriting. SQL: repository.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from patrons.core.erasure import Subject
from patrons.db.database import Conn
from patrons.idempotency_keys import repository


class IdempotencyKeysEraser:
    counters: tuple[str, ...] = ("idempotency_keys",)

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing stored here can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        deleted = 0
        for needle in subject.needles:
            deleted += await repository.erase_responses(conn, project_id=project_id, needle=needle)
        return {"idempotency_keys": deleted}
