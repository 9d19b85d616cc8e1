"""Permanent deletion's eraser for export files; registered by assembly.py.

An export file is a snapshot of customer data: a customer export may hold the person under
any of its columns (a name, an e-mail, a metadata value), so no value search can prove a
file clean. The eraser therefore deletes, whole, every export of the project that can name a
person — every customer export, and voucher exports with a holder column (`customer_id`,
`customer_source_id`) — with its file, in the deletion's transaction. An export is a
re-creatable copy, so erring towards deleting it costs one more POST /v1/exports. A queued or
running export job of a deleted export stops at its next chunk and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from patrons.core.erasure import Subject
from patrons.db.database import Conn
from patrons.exports import repository
from patrons.exports.fields import KINDS


def _names_people(exported_object: str, parameters: Any) -> bool:
    if isinstance(parameters, str):
        parameters = msgspec.json.decode(parameters)
    personal = KINDS[exported_object].personal
    fields = parameters.get("fields") if isinstance(parameters, dict) else None
    return not isinstance(fields, list) or any(f in personal for f in fields)


class ExportsEraser:
    # No counter in the deletion's `data_json`: its fields are the spec's plus the packages'
    # own row counts, and a deleted export is not a row about the person.
    counters: tuple[str, ...] = ()

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Nothing about exports can block an erasure."""

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        rows = await repository.with_personal_data(
            conn, project_id=project_id, exported_objects=tuple(KINDS)
        )
        for row in rows:
            if not _names_people(row["exported_object"], row["parameters"]):
                continue
            await repository.delete(conn, project_id=project_id, export_id=row["id"])
            while await repository.delete_pieces(
                conn, project_id=project_id, export_id=row["id"], limit=64
            ):
                pass
        return {}
