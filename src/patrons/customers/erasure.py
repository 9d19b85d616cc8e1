"""Permanent deletion (GDPR erasure) of a customer, in the caller's one transaction.

Who is erased: the customer the path names — a live customer by `cust_` id, else by source_id;
failing both, a soft-deleted customer (tombstone) by id, else the tombstones with that
source_id — together with every tombstone sharing its source_id (the same person deleted and
re-created earlier). A live customer is never erased through a tombstone's id: a dead id does
not reach a new, live customer that reused the source_id.

The seam: customers erases only its own tables and imports no package that holds customer
data. Each such package provides an `Eraser` for its own tables (its SQL in that package's
repository) and assembly.py registers it here, in the order erasure runs. `erase()`:
1. resolves the person into a `core.erasure.Subject` (ids, source_ids, the values searched
   for and their JSON literals);
2. runs every eraser's `check()` before anything is written, so an eraser can refuse (the
   async_actions eraser answers 409 while a queued job's input names the person);
3. deletes the `customer` / `customer_deleted` rows and drops `customer_counter` — the live row
   first: on PostgreSQL its row lock makes a concurrent writer of the same customer finish
   before any eraser reads;
4. runs every eraser's `erase()` in registration order, adding up the counters each returns;
5. scrubs the person from other customers' stored holdings (`summary`/`loyalty`/`referrals`,
   core.erasure.scrub's rule) — last, after the redeemables eraser has recomputed the holdings
   of customers tied to the person's vouchers, so only stray mentions remain.

What the registered erasers cover today (assembly._install_erasers): the event log and
mentions in others' events (activities), segment memberships (segments), holder rows,
publications and vouchers (redeemables), job failures, results and finished payloads
(async_actions), stored idempotent responses (idempotency_keys). Not touched: segment rules,
campaign/voucher texts written by the operator, and access logs (never personal data).
No record of the deletion is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Protocol

import msgspec

from patrons.core import ids
from patrons.core.clock import format_ms, now_ms
from patrons.core.erasure import Subject, scrub_column
from patrons.core.errors import NotFound
from patrons.customers import repository, service
from patrons.db.database import Conn, Row


class PermanentDeletionData(msgspec.Struct, kw_only=True):
    """`data_json`: the spec's seven counters, then what else was erased or scrubbed."""

    events: int = 0  # custom events are event-log rows: counted in customer_events
    customer_events: int = 0
    daily_events: int = 0
    segments: int = 0  # segment memberships
    orders: int = 0  # orders anonymised (kept as financial records; orders/erasure.py)
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
    redemptions: int = 0  # redemptions and rollbacks anonymised (redemptions/erasure.py)
    webhook_deliveries: int = 0  # deliveries deleted or scrubbed (webhooks/erasure.py)
    consents: int = 0  # customer_consent rows (consents/erasure.py)


class PermanentDeletion(msgspec.Struct, kw_only=True):
    """`CustomersPermanentDeletionCreateResponseBody`; `object` is misspelled in the spec."""

    id: str
    created_at: str
    related_object_id: str
    related_object: str = "customer"
    status: str = "DONE"
    data_json: PermanentDeletionData
    object: str = "pernament_deletion"


COUNTERS = frozenset(PermanentDeletionData.__struct_fields__)


class Eraser(Protocol):
    """What a package that holds customer data registers (from assembly._install_erasers).

    Both methods run in the erasure's one transaction and touch only the package's own
    tables. Implementations match structurally: packages below customers cannot import this.
    """

    @property
    def counters(self) -> tuple[str, ...]:
        """The `PermanentDeletionData` fields `erase()` reports (checked at registration)."""
        ...

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        """Read only; raise a PatronsError to refuse the erasure. Every eraser's check runs
        before anything is written, so a refusal leaves nothing half-erased."""
        ...

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        """Delete or scrub the subject in the package's tables; counts by counter name."""
        ...


_erasers: list[Eraser] = []


def register(eraser: Eraser) -> None:
    """Add `eraser` after those already registered: registration order is erasure order."""
    unknown = set(eraser.counters) - COUNTERS
    if unknown:
        raise ValueError(f"{type(eraser).__name__} reports unknown counters {sorted(unknown)}")
    if eraser in _erasers:
        raise ValueError(f"{type(eraser).__name__} is registered already")
    _erasers.append(eraser)


def unregister(eraser: Eraser) -> None:
    _erasers.remove(eraser)


def registered() -> tuple[Eraser, ...]:
    return tuple(_erasers)


async def erase(conn: Conn, *, project_id: str, ref: str) -> PermanentDeletion:
    if not _erasers:  # erasing only the customer row would leave the person everywhere else
        raise RuntimeError("no erasers registered: call patrons.assembly.install() at start-up")
    erasers = tuple(_erasers)
    subject = await _resolve(conn, project_id=project_id, ref=ref)
    for eraser in erasers:
        await eraser.check(conn, project_id=project_id, subject=subject)
    slot = await repository.hold_count(conn, project_id=project_id)  # the lock order: see there
    live, dead = await repository.erase_rows(
        conn, project_id=project_id, customer_ids=subject.customer_ids
    )
    if live:
        await repository.add_to_count(conn, project_id=project_id, delta=-live, slot=slot)
    counts: Counter[str] = Counter(customer=live + dead)
    for eraser in erasers:
        reported = await eraser.erase(conn, project_id=project_id, subject=subject)
        undeclared = set(reported) - set(eraser.counters)
        if undeclared:
            raise RuntimeError(f"{type(eraser).__name__} reported {sorted(undeclared)}")
        counts.update(reported)
    counts["holdings_mentions"] += await _scrub_holdings(
        conn, project_id=project_id, subject=subject
    )
    return PermanentDeletion(
        id=ids.permanent_deletion_id(),
        created_at=format_ms(now_ms()),
        related_object_id=subject.target_id,
        data_json=PermanentDeletionData(**counts),
    )


async def _resolve(conn: Conn, *, project_id: str, ref: str) -> Subject:
    rows: list[Row] = []
    # The live customer by the one id-or-source_id lookup (`ref` is NUL-free: http.path_id).
    target = await service.resolve(conn, project_id=project_id, ref=ref)
    if target is None and ref.startswith("cust_"):
        target = await repository.deleted_by_id(conn, project_id=project_id, customer_id=ref)
    if target is not None:
        rows.append(target)
        source_id = target["source_id"]
    else:
        source_id = ref
    if source_id is not None:
        rows.extend(
            await repository.deleted_by_source_id(conn, project_id=project_id, source_id=source_id)
        )
    if not rows:
        raise NotFound("customer", ref)
    customer_ids = tuple(dict.fromkeys(row["id"] for row in rows))
    values = [*customer_ids]
    for row in rows:
        values.extend(v for v in (row["source_id"], row["email"]) if v)
    first_source_id = rows[0]["source_id"]
    return Subject(
        target_id=rows[0]["id"],
        customer_ids=customer_ids,
        # Every row shares the first one's source_id (tombstones were found by it).
        source_ids=() if first_source_id is None else (first_source_id,),
        values=tuple(dict.fromkeys(values)),
    )


async def _scrub_holdings(conn: Conn, *, project_id: str, subject: Subject) -> int:
    """Other customers whose stored holdings still name the person, scrubbed; the count."""
    values = set(subject.values)
    scrubbed: set[str] = set()
    for needle in subject.needles:
        for row in await repository.holdings_mentioning(conn, project_id=project_id, needle=needle):
            summary, loyalty, referrals = (
                scrub_column(row[column], values) for column in ("summary", "loyalty", "referrals")
            )
            if summary[1] or loyalty[1] or referrals[1]:
                scrubbed.add(row["id"])
                await repository.set_holdings(
                    conn,
                    project_id=project_id,
                    customer_id=row["id"],
                    summary=summary[0],
                    loyalty=loyalty[0],
                    referrals=referrals[0],
                )
    return len(scrubbed)
