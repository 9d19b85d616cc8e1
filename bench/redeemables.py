"""What customers hold, at scale: the redeemables list and publishing.

Hand-run (not part of the test suite). Per database, on N seeded customers (bench/seed.py):

1. Holdings are made for real: a campaign of each type and `--holdings` publications through
   the publications service (AUTO_UPDATE campaigns create each code on demand), spread so that
   one "heavy" customer holds `--heavy` of them. Prints publications/s, beside plain customer
   upserts through the customers service in the same run (the baseline: one write + event).
2. `GET /v1/customers/{id}/redeemables` through the service for the heavy customer — page 1
   with its `total`, a page deep in the list (`starting_after_id` half way), and a filtered page
   (`voucher_type $in [LOYALTY_CARD]`) — beside the same page's raw SQL (holder rows
   `LIMIT 11` + `COUNT(*)`) as the baseline.
3. GET customer by id (now carrying the holdings columns) for the heavy customer vs one that
   holds nothing: the holdings add no query.

Run: `.venv/bin/python bench/redeemables.py --db both --customers 50000 --holdings 20000`
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import seed
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db import database
from patrons.redeemables import campaigns, holders, publications
from patrons.redeemables.publications import PublicationCampaign, PublicationCreate
from patrons.redeemables.schemas import CampaignCreate, GiftWrite, VoucherTemplate


def fmt3(times: list[float]) -> str:
    return seed.fmt(times, digits=3)


TEMPLATES = {
    "DISCOUNT_COUPONS": VoucherTemplate(discount={"type": "PERCENT", "percent_off": 10}),
    "GIFT_VOUCHERS": VoucherTemplate(gift=GiftWrite(amount=5000)),
    "REFERRAL_PROGRAM": VoucherTemplate(discount={"type": "AMOUNT", "amount_off": 500}),
}


async def _make_campaigns(db: Any, project_id: str) -> list[str]:
    names = []
    async with db.transaction() as conn:
        for kind, template in TEMPLATES.items():
            name = f"bench {kind}"
            body = CampaignCreate(
                name=name,
                campaign_type=kind,
                type="AUTO_UPDATE",  # type: ignore[arg-type]
                voucher=template,
            )
            await campaigns.create(conn, project_id=project_id, body=body, origin=Origin())
            names.append(name)
        await campaigns.create(
            conn,
            project_id=project_id,
            body=CampaignCreate(name="bench LOYALTY", campaign_type="LOYALTY_PROGRAM"),
            origin=Origin(),
        )
    return names


async def run(seeded: seed.Seeded, *, holdings: int, heavy: int, repeat: int) -> None:
    db = await database.connect(seeded.url, pg_pool_min=1, pg_pool_max=2)
    project_id = seeded.project_id
    rng = random.Random(11)
    try:
        names = await _make_campaigns(db, project_id)
        heavy_id, idle_id = seeded.ids[0], seeded.ids[1]
        others = seeded.ids[2:]

        async def publish(customer_id: str, campaign: str) -> None:
            body = PublicationCreate(
                campaign=PublicationCampaign(campaign), customer=CustomerCreate(id=customer_id)
            )
            async with db.transaction() as conn:
                await publications.create(conn, project_id=project_id, body=body, origin=Origin())

        started = time.perf_counter()
        for i in range(holdings):
            if i % 500 == 0:
                # What autovacuum does in production (this box runs PostgreSQL with it off):
                # growing tables without statistics get nested-loop plans over whole tables.
                await db.fetchval("ANALYZE")
            customer_id = heavy_id if i < heavy else rng.choice(others)
            campaign = names[i % 2]  # discount coupons and gift cards: no join_once
            await publish(customer_id, campaign)
        elapsed = time.perf_counter() - started
        async with db.transaction() as conn:
            await holders.add_member(
                conn,
                project_id=project_id,
                campaign_ref="bench LOYALTY",
                body=holders.MemberCreate(customer=CustomerCreate(id=heavy_id)),
                origin=Origin(),
            )
        upsert_n = min(2000, holdings)
        started_up = time.perf_counter()
        for i in range(upsert_n):
            async with db.transaction() as conn:
                await customers.upsert(
                    conn,
                    project_id=project_id,
                    body=CustomerCreate(source_id=f"bench-upsert-{i}", name="x"),
                    origin=Origin(),
                )
        upsert_rate = upsert_n / (time.perf_counter() - started_up)
        rate = holdings / elapsed
        print(
            f"\n[{seeded.kind}] {len(seeded.ids):,} customers, {holdings:,} publications"
            f" ({heavy:,} to one customer)"
        )
        print(f"  publications           {rate:9.0f}/s")
        print(f"  customer upserts       {upsert_rate:9.0f}/s (baseline)")
        print(f"  ratio                  {rate / upsert_rate:9.2f}x")

        await db.fetchval("ANALYZE")
        all_ids = [
            r["id"]
            for r in await db.fetch(
                "SELECT id FROM redeemable_holder WHERE project_id = $1 AND customer_id = $2"
                " ORDER BY id DESC",
                project_id,
                heavy_id,
            )
        ]
        middle = all_ids[len(all_ids) // 2]

        def listing(query: str) -> Any:
            async def go() -> None:
                await holders.customer_redeemables(
                    db, project_id=project_id, customer_id=heavy_id, query=query
                )

            return go

        async def raw() -> None:
            await db.fetch(
                "SELECT id FROM redeemable_holder WHERE project_id = $1 AND customer_id = $2"
                " ORDER BY id DESC LIMIT 11",
                project_id,
                heavy_id,
            )
            await db.fetchval(
                "SELECT COUNT(*) FROM redeemable_holder WHERE project_id = $1 AND customer_id = $2",
                project_id,
                heavy_id,
            )

        async def get_heavy() -> None:
            await customers.get(db, project_id=project_id, ref=heavy_id)

        async def get_idle() -> None:
            await customers.get(db, project_id=project_id, ref=idle_id)

        print(f"  heavy customer holds {len(all_ids):,}")
        for label, fn in (
            ("raw SQL page + COUNT (baseline)", raw),
            ("redeemables page 1 + total", listing("limit=10")),
            ("redeemables deep page", listing(f"limit=10&starting_after_id={middle}")),
            (
                "redeemables filtered page",
                listing("limit=10&filters[voucher_type][conditions][$in][0]=LOYALTY_CARD"),
            ),
            ("GET customer, holds nothing", get_idle),
            ("GET customer, heavy holder", get_heavy),
        ):
            await fn()
            print(f"  {label:34} {fmt3(await seed.timed(fn, repeat))}")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--holdings", type=int, default=20_000)
    parser.add_argument("--heavy", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    opts = parser.parse_args()
    seed.for_each_database(
        opts.db,
        opts.pg_admin_url,
        opts.customers,
        lambda seeded: run(seeded, holdings=opts.holdings, heavy=opts.heavy, repeat=opts.repeat),
    )


if __name__ == "__main__":
    main()
