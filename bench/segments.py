"""Segments at scale: listing a rule segment's members, and the cost of membership upkeep.

Hand-run (not part of the test suite). Per database, on N seeded customers (bench/seed.py):

1. Listing members of a rule-based (passive) segment — `GET /v1/customers?segment_id=…` page 1
   with its `total` — through the customers service, beside the unfiltered first page in the
   same run (the baseline) and the same rule's raw `SELECT … LIMIT 11` + `COUNT(*)`.
2. A single customer update (`PUT /v1/customers/{id}` through the service, one transaction)
   with 0 and with 100 auto-update segments in the project: mean and p99 per update and the
   difference — what membership upkeep adds.

Run: `.venv/bin/python bench/segments.py --db both --customers 200000`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import seed
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerUpdate
from patrons.db import database
from patrons.db.database import kind_of
from patrons.segments import rules
from patrons.segments import service as segments
from patrons.segments.schemas import SegmentCreate

RULE = {
    "junction": "and",
    "address.country": {"conditions": {"$in": ["PL", "DE"]}},
    "metadata.lifetime_orders": {"conditions": {"$more_than": [30]}},
}


async def _resolver(conn: Any, project_id: str, refs: Any) -> dict[str, str]:
    return await customers.resolve_many(conn, project_id, refs)


async def run(seeded: seed.Seeded, repeat: int, updates: int) -> None:
    db = await database.connect(seeded.url, pg_pool_min=1, pg_pool_max=2)
    project_id = seeded.project_id
    try:
        async with db.transaction() as conn:
            seg = await segments.create(
                conn,
                project_id=project_id,
                body=SegmentCreate(name="big spenders", type="passive", filter=RULE),
                resolve=_resolver,
            )
        sql, args = rules.to_sql(rules.parse(RULE), kind=kind_of(db), first_param=2)

        async def members() -> None:
            await customers.list_(db, project_id=project_id, params={"segment_id": seg.id})

        async def first_page() -> None:
            await customers.list_(db, project_id=project_id, params={})

        async def raw() -> None:
            await db.fetch(
                f"SELECT id FROM customer WHERE project_id = $1 AND ({sql})"
                " ORDER BY created_at DESC, id DESC LIMIT 11",
                project_id,
                *args,
            )
            await db.fetchval(
                f"SELECT COUNT(*) FROM customer WHERE project_id = $1 AND ({sql})",
                project_id,
                *args,
            )

        total = (
            await customers.list_(db, project_id=project_id, params={"segment_id": seg.id})
        ).total
        print(f"\n[{seeded.kind}] {len(seeded.ids):,} customers; rule matches {total:,}")
        for label, fn in (
            ("unfiltered page 1 (baseline)", first_page),
            ("segment members page 1 + total", members),
            ("same rule, raw SQL page + COUNT", raw),
        ):
            await fn()
            print(f"  {label:34} {seed.fmt(await seed.timed(fn, repeat))}")

        rng = random.Random(7)
        targets = rng.sample(seeded.ids, updates * 2)

        async def updates_with(ids: list[str], *, flip: bool) -> list[float]:
            """`flip`: each update moves the customer across many rules' thresholds."""
            times = []
            for i, customer_id in enumerate(ids):
                if flip:
                    body = CustomerUpdate(metadata={"lifetime_orders": 40 if i % 2 else 5})
                else:
                    body = CustomerUpdate(name=f"Renamed {i}")
                started = time.perf_counter()
                async with db.transaction() as conn:
                    await customers.update(
                        conn, project_id=project_id, ref=customer_id, body=body, origin=Origin()
                    )
                times.append(time.perf_counter() - started)
            return times

        half = updates // 2
        plain = await updates_with(targets[:half], flip=False)
        flipping = await updates_with(targets[half:updates], flip=True)
        async with db.transaction() as conn:
            # The passive one counts against the 100 rule segments a project may hold.
            await segments.delete(conn, project_id=project_id, segment_id=seg.id)
            for i in range(100):
                rule = {
                    "junction": "and",
                    "metadata.lifetime_orders": {"conditions": {"$more_than": [i % 50]}},
                    "address.country": {"conditions": {"$is": ["PL", "DE", "US", "GB"][i % 4]}},
                }
                await segments.create(
                    conn,
                    project_id=project_id,
                    body=SegmentCreate(name=f"auto {i}", type="auto-update", filter=rule),
                    resolve=_resolver,
                )
        plain_100 = await updates_with(targets[updates : updates + half], flip=False)
        flipping_100 = await updates_with(targets[updates + half :], flip=True)
        for label, before, after in (
            ("rename (no membership change)", plain, plain_100),
            ("metadata flip (~20 enter/leave)", flipping, flipping_100),
        ):
            added = statistics.mean(after) - statistics.mean(before)
            print(f"  {label}:")
            print(f"    0 auto-update segments     {seed.fmt(before)}")
            print(f"    100 auto-update segments   {seed.fmt(after)}")
            print(
                f"    upkeep adds {added * 1e3:.2f} ms per update"
                f" ({statistics.mean(after) / statistics.mean(before):.2f}x)"
            )
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    opts = parser.parse_args()
    seed.for_each_database(
        opts.db,
        opts.pg_admin_url,
        opts.customers,
        lambda seeded: run(seeded, opts.repeat, opts.updates),
    )


if __name__ == "__main__":
    main()
