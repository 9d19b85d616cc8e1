"""Redemptions per second beside customer upserts per second, both databases, same run.

Hand-run (not part of the test suite). Per database, on N seeded customers (bench/seed.py):
a discount voucher (unlimited uses) and a gift card per customer slot are created, then
`--redemptions` redemptions run through redemptions.service, one request-sized transaction
each (customer by id, a new order, the voucher's counters, the redemption row, the event,
the summary), alternating in blocks with plain customer upserts through customers.service
(the baseline: one write + its event), so both see the same database state and load.
Printed: redemptions/s (discount only, and discount + gift card stacked), upserts/s, ratios.

Run: `.venv/bin/python bench/redemptions.py --db both --customers 20000 --redemptions 2000`
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).parent))

import seed
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db import database
from patrons.redeemables import vouchers
from patrons.redeemables.schemas import VoucherWrite
from patrons.redemptions import service as redemptions
from patrons.redemptions.schemas import StackableRequest

BLOCK = 100  # requests per block; blocks of each kind alternate


async def run(seeded: seed.Seeded, *, n: int) -> None:
    db = await database.connect(seeded.url, pg_pool_min=1, pg_pool_max=2)
    project_id = seeded.project_id
    rng = random.Random(17)
    try:
        async with db.transaction() as conn:
            for code, body in (
                (
                    "BENCH-OFF",
                    {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 100}},
                ),
                ("BENCH-GIFT", {"type": "GIFT_VOUCHER", "gift": {"amount": 10**12}}),
            ):
                await vouchers.create(
                    conn, project_id=project_id, body=msgspec.convert(body, VoucherWrite), code=code
                )
        await db.fetchval("ANALYZE")

        def request(codes: list[str]) -> StackableRequest:
            return msgspec.convert(
                {
                    "redeemables": [{"object": "voucher", "id": c} for c in codes],
                    "customer": {"id": rng.choice(seeded.ids)},
                    "order": {"amount": 5000},
                },
                StackableRequest,
            )

        async def redeem(codes: list[str]) -> None:
            body = request(codes)
            async with db.transaction() as conn:
                await redemptions.redeem(conn, project_id=project_id, body=body, origin=Origin())

        counter = iter(range(10**9))

        async def upsert() -> None:
            body = CustomerCreate(source_id=f"bench-upsert-{next(counter)}", name="x")
            async with db.transaction() as conn:
                await customers.upsert(conn, project_id=project_id, body=body, origin=Origin())

        spent = {"single": 0.0, "stacked": 0.0, "upsert": 0.0}
        done = dict.fromkeys(spent, 0)
        kinds: list[tuple[str, Any]] = [
            ("single", lambda: redeem(["BENCH-OFF"])),
            ("stacked", lambda: redeem(["BENCH-OFF", "BENCH-GIFT"])),
            ("upsert", upsert),
        ]
        while min(done.values()) < n:
            for kind, call in kinds:
                started = time.perf_counter()
                for _ in range(BLOCK):
                    await call()
                spent[kind] += time.perf_counter() - started
                done[kind] += BLOCK
            if done["upsert"] % 1000 == 0:
                await db.fetchval("ANALYZE")  # what autovacuum would do on a real server
        rates = {k: done[k] / spent[k] for k in spent}
        print(f"\n[{seeded.kind}] {len(seeded.ids):,} customers, {n:,} requests of each kind")
        print(f"  redemptions, one discount voucher   {rates['single']:8.0f}/s")
        print(f"  redemptions, discount + gift card   {rates['stacked']:8.0f}/s")
        print(f"  customer upserts (baseline)         {rates['upsert']:8.0f}/s")
        print(f"  ratio single / upsert               {rates['single'] / rates['upsert']:8.2f}x")
        print(f"  ratio stacked / upsert              {rates['stacked'] / rates['upsert']:8.2f}x")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--redemptions", type=int, default=2_000)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    opts = parser.parse_args()
    seed.for_each_database(
        opts.db, opts.pg_admin_url, opts.customers, lambda seeded: run(seeded, n=opts.redemptions)
    )


if __name__ == "__main__":
    main()
