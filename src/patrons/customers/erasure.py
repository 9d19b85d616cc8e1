"""Permanent deletion (GDPR erasure) of a customer, in the caller's one transaction.

Who is erased: the customer the path names — a live customer by `cust_` id, else by source_id;
failing both, a soft-deleted customer (tombstone) by id, else the tombstones with that
source_id — together with every tombstone sharing its source_id (the same person deleted and
re-created earlier). A live customer is never erased through a tombstone's id: a dead id does
not reach a new, live customer that reused the source_id.

What goes, in every table of db/tables.py:
- `customer` / `customer_deleted` rows; `customer_counter` drops by the live rows removed;
- `customer_event` rows of the person (each snapshots the row), and the person's ids scrubbed
  from other customers' event payloads (`extra`) and stored holdings (`referrals` …);
- `segment_member` rows (static and auto-update memberships);
- `redeemable_holder` and `publication` rows; vouchers they held or referred with are unlinked
  and return to the pool (redeemables/erasure.py); customers tied to the same vouchers
  (referees of their code, their referrer) get their stored holdings recomputed;
- async actions: `async_action_failure` rows reported under their source_id, entries naming
  them in finished jobs' `result`, and the leftover payload pieces of finished jobs (FAILED
  jobs keep theirs; nothing reads them again). A job still queued or running whose payload
  names them blocks the erasure with 409: rewriting a payload under a running worker would
  move its byte checkpoints, and erasing first would let the job write them back;
- stored idempotent responses (`idempotency_key`) whose body names them.

Not touched: segment rules and campaign/voucher texts written by the operator, and access
logs (which never carry personal data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from patrons.activities import repository as activities
from patrons.async_actions import repository as async_actions
from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import NotFound, ResourceInUse
from patrons.customers import repository
from patrons.db.database import Conn, Row
from patrons.projects import repository as projects
from patrons.redeemables import erasure as redeemables
from patrons.redeemables import holdings
from patrons.redeemables import repository as redeemables_repository
from patrons.segments import repository as segments


class PermanentDeletionData(msgspec.Struct, kw_only=True):
    """`data_json`: the spec's seven counters, then what else was erased or scrubbed."""

    events: int = 0  # custom events: not stored by Patrons
    customer_events: int = 0
    daily_events: int = 0
    segments: int = 0  # segment memberships
    orders: int = 0  # orders are not stored by Patrons
    order_events: int = 0
    customer: int = 0  # customer rows: the live one and tombstones of the same person
    redeemables: int = 0  # redeemable_holder rows
    publications: int = 0
    vouchers_released: int = 0
    activity_mentions: int = 0
    holdings_mentions: int = 0
    async_action_failures: int = 0
    async_action_results: int = 0
    async_action_payloads: int = 0
    idempotency_keys: int = 0


class PermanentDeletion(msgspec.Struct, kw_only=True):
    """`CustomersPermanentDeletionCreateResponseBody`; `object` is misspelled in the spec."""

    id: str
    created_at: str
    related_object_id: str
    related_object: str = "customer"
    status: str = "DONE"
    data_json: PermanentDeletionData
    object: str = "pernament_deletion"


class Person(msgspec.Struct):
    """The rows being erased and the values that identify them in other tables."""

    target_id: str
    customer_ids: list[str]
    # Exact values searched for: ids, source_id, e-mail addresses.
    values: list[str]
    source_id: str | None


async def erase(conn: Conn, *, project_id: str, ref: str) -> PermanentDeletion:
    person = await _resolve(conn, project_id=project_id, ref=ref)
    await _check_no_running_job(conn, project_id=project_id, person=person)
    counts: dict[str, int] = {}
    live, dead = await repository.erase_rows(
        conn, project_id=project_id, customer_ids=person.customer_ids
    )
    if live:
        await repository.add_to_count(conn, project_id=project_id, delta=-live)
    counts["customer"] = live + dead
    counts["customer_events"] = await activities.erase_customers(
        conn, project_id=project_id, customer_ids=person.customer_ids
    )
    counts["segments"] = await segments.erase_customers(
        conn, project_id=project_id, customer_ids=person.customer_ids
    )
    tied = await redeemables.co_holders(
        conn, project_id=project_id, customer_ids=person.customer_ids
    )
    counts.update(
        await redeemables.erase_holdings(
            conn, project_id=project_id, customer_ids=person.customer_ids
        )
    )
    await holdings.refresh(conn, project_id=project_id, customer_ids=tied)
    counts.update(await _scrub_mentions(conn, project_id=project_id, person=person))
    failures = 0
    if person.source_id is not None:
        failures = await async_actions.erase_failures(
            conn, project_id=project_id, source_id=person.source_id
        )
    counts["async_action_failures"] = failures
    counts["async_action_payloads"] = await async_actions.drop_finished_payloads(
        conn, project_id=project_id
    )
    now = now_ms()
    return PermanentDeletion(
        id=ids.permanent_deletion_id(),
        created_at=format_ms(now),
        related_object_id=person.target_id,
        data_json=PermanentDeletionData(**counts),
    )


async def _resolve(conn: Conn, *, project_id: str, ref: str) -> Person:
    rows: list[Row] = []
    if "\x00" not in ref:  # no stored text holds NUL (PostgreSQL would refuse the query)
        target = None
        if ref.startswith("cust_"):
            target = await repository.get_by_id(conn, project_id=project_id, customer_id=ref)
        if target is None:
            target = await repository.get_by_source_id(conn, project_id=project_id, source_id=ref)
        if target is None and ref.startswith("cust_"):
            target = await repository.deleted_by_id(conn, project_id=project_id, customer_id=ref)
        if target is not None:
            rows.append(target)
            source_id = target["source_id"]
        else:
            source_id = ref
        if source_id is not None:
            rows.extend(
                await repository.deleted_by_source_id(
                    conn, project_id=project_id, source_id=source_id
                )
            )
    if not rows:
        raise NotFound("customer", ref)
    customer_ids = list(dict.fromkeys(row["id"] for row in rows))
    source_id = rows[0]["source_id"]
    values = [*customer_ids]
    for row in rows:
        values.extend(v for v in (row["source_id"], row["email"]) if v)
    return Person(
        target_id=rows[0]["id"],
        customer_ids=customer_ids,
        values=list(dict.fromkeys(values)),
        source_id=source_id,
    )


# --- values inside JSON documents and stored payloads -------------------------------------------


def _json_literal(value: str) -> str:
    """`value` as a JSON string literal, quotes included: how it appears in stored JSON."""
    return msgspec.json.encode(value).decode()


def scrub(document: Any, values: set[str]) -> tuple[Any, bool]:
    """`document` without the person: list items mentioning a value are dropped, any other
    string equal to one becomes null. Returns the result and whether anything changed."""
    if isinstance(document, str):
        return (None, True) if document in values else (document, False)
    if isinstance(document, list):
        kept = [item for item in document if not _mentions(item, values)]
        changed = len(kept) != len(document)
        out = []
        for item in kept:
            clean, item_changed = scrub(item, values)
            out.append(clean)
            changed = changed or item_changed
        return out, changed
    if isinstance(document, dict):
        changed = False
        result = {}
        for key, item in document.items():
            result[key], item_changed = scrub(item, values)
            changed = changed or item_changed
        return result, changed
    return document, False


def _mentions(document: Any, values: set[str]) -> bool:
    if isinstance(document, str):
        return document in values
    if isinstance(document, list):
        return any(_mentions(item, values) for item in document)
    if isinstance(document, dict):
        return any(_mentions(item, values) for item in document.values())
    return False


def _decode(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def _encode(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


async def _scrub_mentions(conn: Conn, *, project_id: str, person: Person) -> dict[str, int]:
    """Remove the person from JSON that other records keep: other customers' event payloads
    and holdings, finished jobs' results, stored idempotent responses."""
    values = set(person.values)
    events: set[str] = set()
    holders: set[str] = set()
    results: set[str] = set()
    responses = 0
    for value in person.values:
        needle = _json_literal(value)
        for row in await activities.extras_mentioning(conn, project_id=project_id, needle=needle):
            if row["id"] in events:
                continue
            extra, changed = scrub(_decode(row["extra"]), values)
            if changed:
                events.add(row["id"])
                await activities.set_extra(
                    conn, project_id=project_id, event_id=row["id"], extra=_encode(extra)
                )
        for row in await redeemables.holdings_mentioning(
            conn, project_id=project_id, needle=needle
        ):
            cleaned = {
                column: scrub(_decode(row[column]), values)
                for column in ("summary", "loyalty", "referrals")
            }
            if any(changed for _, changed in cleaned.values()):
                holders.add(row["id"])
                await redeemables_repository.set_holdings(
                    conn,
                    project_id=project_id,
                    customer_id=row["id"],
                    **{column: _encode(doc) for column, (doc, _) in cleaned.items()},
                )
        for row in await async_actions.results_mentioning(
            conn, project_id=project_id, needle=needle
        ):
            result, changed = scrub(_decode(row["result"]), values)
            if changed:
                results.add(row["id"])
                await async_actions.set_result(
                    conn, project_id=project_id, action_id=row["id"], result=_encode(result) or ""
                )
        responses += await projects.erase_idempotent_responses(
            conn, project_id=project_id, needle=needle
        )
    return {
        "activity_mentions": len(events),
        "holdings_mentions": len(holders),
        "async_action_results": len(results),
        "idempotency_keys": responses,
    }


# --- jobs still running -------------------------------------------------------------------------


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


async def _check_no_running_job(conn: Conn, *, project_id: str, person: Person) -> None:
    """409 when a queued or running job's input names the person (see the module doc)."""
    jobs = await async_actions.active_with_payload(conn, project_id=project_id)
    if not jobs:
        return
    pattern = _payload_pattern(person.values)
    overlap = max(len(_json_literal(v).encode()) for v in person.values) * 2 + 4
    for job in jobs:
        seq, tail = 0, b"\n"  # the first field of the file follows a virtual newline
        while True:
            piece = await async_actions.payload_piece(
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
