"""Permanent deletion's eraser for async actions; registered by assembly.py. SQL: repository.py.

check(): a job still queued or running whose stored payload names the person refuses the
erasure with 409 — rewriting a payload under a running worker would move its byte
checkpoints, and erasing first would let the job write the person back. The payload is read
piece by piece with an overlap, the value searched as a JSON string (bulk and metadata lines)
or as a whole CSV field.

erase(): per-row failures reported under their source_id go; finished jobs' `result`s naming
them are scrubbed (core/erasure.py's rule); finished jobs' leftover payload pieces are dropped
whole (nothing reads them again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import msgspec

from patrons.async_actions import repository
from patrons.core.erasure import Subject, scrub_column
from patrons.core.errors import ResourceInUse
from patrons.db.database import Conn


class AsyncActionsEraser:
    counters: tuple[str, ...] = (
        "async_action_failures",
        "async_action_results",
        "async_action_payloads",
    )

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        jobs = await repository.active_with_payload(conn, project_id=project_id)
        if not jobs:
            return
        pattern = _payload_pattern(subject.values)
        overlap = max(len(n.encode()) for n in subject.needles) * 2 + 4
        for job in jobs:
            seq, tail = 0, b"\n"  # the first field of the file follows a virtual newline
            while True:
                piece = await repository.payload_piece(
                    conn, project_id=project_id, action_id=job["id"], seq=seq
                )
                window = tail + (b"\n" if piece is None else piece)
                if pattern.search(window):
                    raise ResourceInUse(
                        f"Async action {job['id']} has not finished and its input names this "
                        "customer; retry the permanent deletion when it is done",
                        resource_id=job["id"],
                        resource_type="async_action",
                    )
                if piece is None:
                    break
                tail = window[-overlap:]
                seq += 1

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        values = set(subject.values)
        scrubbed: set[str] = set()
        for needle in subject.needles:
            for row in await repository.results_mentioning(
                conn, project_id=project_id, needle=needle
            ):
                result, changed = scrub_column(row["result"], values)
                if changed:
                    scrubbed.add(row["id"])
                    await repository.set_result(
                        conn, project_id=project_id, action_id=row["id"], result=result or ""
                    )
        failures = 0
        for source_id in subject.source_ids:
            failures += await repository.erase_failures(
                conn, project_id=project_id, source_id=source_id
            )
        payloads = await repository.drop_finished_payloads(conn, project_id=project_id)
        return {
            "async_action_results": len(scrubbed),
            "async_action_failures": failures,
            "async_action_payloads": payloads,
        }


def _payload_pattern(values: Iterable[str]) -> re.Pattern[bytes]:
    """A value as a JSON string (bulk/metadata lines) or as a whole CSV field, quoted or not.

    An unquoted CSV field must be followed by a delimiter, so a window ending mid-field never
    matches; the search carries an overlap into the next window and ends with a newline.
    """
    forms = []
    for value in values:
        raw = value.encode()
        forms.append(re.escape(msgspec.json.encode(value)))
        forms.append(b'"' + re.escape(raw.replace(b'"', b'""')) + b'"')
        forms.append(rb"(?<=[,\n])" + re.escape(raw) + rb"(?=[,\r\n])")
    return re.compile(b"|".join(forms))
