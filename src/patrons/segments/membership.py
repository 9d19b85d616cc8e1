"""Auto-update membership upkeep on every customer write, with entered/left events.

Membership of auto-update segments is stored (segment_member). After a write, each written
customer is evaluated against every auto-update rule of the project (in Python, on the row
just written) and compared with its stored memberships; only changes touch the database. The
insert/delete of a membership row decides the event — `ON CONFLICT DO NOTHING … RETURNING`
and `DELETE … RETURNING` — so concurrent writers emit each entered/left exactly once.
Passive segments are evaluated on read and emit nothing; static ones never change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from patrons.activities import service as activities
from patrons.core.origin import Origin
from patrons.db.database import Conn
from patrons.segments import repository, rules
from patrons.segments.schemas import AUTO_UPDATE
from patrons.segments.service import rule_of


async def on_written(
    conn: Conn,
    *,
    project_id: str,
    rows: Sequence[Mapping[str, Any]],
    origin: Origin,
    now: int,
) -> None:
    if not rows:
        return
    segments = await repository.of_types(conn, project_id=project_id, types=(AUTO_UPDATE,))
    if not segments:
        return
    customer_ids = [row["id"] for row in rows]
    current = set(
        await repository.memberships(conn, project_id=project_id, customer_ids=customer_ids)
    )
    entering: dict[str, list[str]] = defaultdict(list)
    leaving: dict[str, list[str]] = defaultdict(list)
    subjects = [_subject(row) for row in rows]
    for segment in segments:
        rule = rule_of(segment)
        for row in subjects:
            member = (row["id"], segment["id"]) in current
            if rules.matches(rule, row):
                if not member:
                    entering[segment["id"]].append(row["id"])
            elif member:
                leaving[segment["id"]].append(row["id"])
    for segment in segments:
        segment_id = segment["id"]
        extra = {"segment": {"id": segment_id, "name": segment["name"], "object": "segment"}}
        if segment_id in entering:
            added = await repository.add_members(
                conn,
                project_id=project_id,
                segment_id=segment_id,
                customer_ids=entering[segment_id],
            )
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=added,
                type_="customer.segment.entered",
                origin=origin,
                extra=extra,
                now=now,
            )
        if segment_id in leaving:
            removed = await repository.remove_members(
                conn, project_id=project_id, segment_id=segment_id, customer_ids=leaving[segment_id]
            )
            await activities.record(
                conn,
                project_id=project_id,
                customer_ids=removed,
                type_="customer.segment.left",
                origin=origin,
                extra=extra,
                now=now,
            )


def _subject(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as a dict with metadata decoded once, not once per rule."""
    subject = {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row has no items)
    metadata = subject.get("metadata")
    if isinstance(metadata, str | bytes):
        subject["metadata"] = msgspec.json.decode(metadata) if metadata else {}
    return subject


# Folded into customer writes (customers/repository.py) as a column `auto_segments`: whether
# the project has auto-update segments, read in the write's own statement, so on_written
# runs only when it can change something and no per-process cache can go stale.
AUTO_UPDATE_EXISTS_SQL = repository.type_exists_sql(AUTO_UPDATE)


async def has_auto_update(conn: Conn, *, project_id: str) -> bool:
    return await repository.count(conn, project_id=project_id, types=(AUTO_UPDATE,)) > 0


async def on_deleted(conn: Conn, *, project_id: str, customer_id: str) -> None:
    await repository.drop_customer(conn, project_id=project_id, customer_id=customer_id)
