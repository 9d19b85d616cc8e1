"""List latency with each documented filter, `total` included, at scale (issue #16).

Hand-run (not part of the test suite). Seeds N customers (bench/seed.py; PostgreSQL by COPY)
and times `GET /v1/customers` page 1 (limit 10) with its exact `total` through the customers
service (in process: no HTTP, one request at a time), per filter, and prints p50/p99 and the
plan PostgreSQL chose for the `total`'s COUNT. The goal at 1M customers: p50 < 25 ms each.

    .venv/bin/python bench/filters.py --customers 1000000
    .venv/bin/python bench/filters.py --customers 1000000 --keep     # keep the scratch database
    .venv/bin/python bench/filters.py --url postgresql://…/patrons_bench_… --project proj_…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import seed
from patrons.core.clock import format_ms
from patrons.customers import listing
from patrons.customers import service as customers
from patrons.db import database, dialect, migrate
from patrons.segments import service as segments
from patrons.segments.schemas import SegmentCreate

DAY_MS = 86_400_000
PASSIVE_RULE = {"address.city": {"conditions": {"$is": ["Warsaw"]}}}


async def _resolver(conn: Any, project_id: str, refs: Any) -> dict[str, str]:
    return await customers.resolve_many(conn, project_id, refs)


async def _cases(db: Any, project_id: str) -> list[tuple[str, dict[str, str]]]:
    sample = await db.fetchrow(
        "SELECT email, name, address_city FROM customer"
        " WHERE project_id = $1 AND address_city IS NOT NULL LIMIT 1",
        project_id,
    )
    now = time.time_ns() // 1_000_000
    year_ago, month_ago = format_ms(now - 365 * DAY_MS), format_ms(now - 30 * DAY_MS)
    async with db.transaction() as conn:
        passive = await segments.create(
            conn,
            project_id=project_id,
            body=SegmentCreate(name="bench warsaw", type="passive", filter=PASSIVE_RULE),
            resolve=_resolver,
        )
    return [
        ("(no filter)", {}),
        ("email=", {"email": sample["email"]}),
        ("name=", {"name": sample["name"]}),
        ("city=", {"city": sample["address_city"]}),
        ("created_at[after]=1 year ago", {"created_at[after]": year_ago}),
        ("created_at[before]=1 year ago", {"created_at[before]": year_ago}),
        ("updated_at[after]=30 days ago", {"updated_at[after]": month_ago}),
        ("updated_at[before]=1 year ago", {"updated_at[before]": year_ago}),
        ("created_at[after] + order=-updated_at", {
            "created_at[after]": year_ago, "order": "-updated_at"}),
        ("segment_id=<passive: city is Warsaw>", {"segment_id": passive.id}),
    ]  # fmt: skip


async def _plan(db: Any, project_id: str, params: dict[str, str]) -> str:
    """The COUNT's plan nodes, in one line (PostgreSQL)."""
    q = listing.parse(params)
    if not q.where or q.segment_id:
        return ""
    if listing.lone_range(q) is not None and dialect.day_counts(db.kind):
        return "customer_day_count (whole days) + the bound's day in the index"
    rows = await db.fetch(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT COUNT(*) FROM customer"
        f" WHERE project_id = $1 AND {' AND '.join(q.where)}",
        project_id,
        *q.args,
    )
    nodes = [r[0].strip().lstrip("-> ").split("  ")[0] for r in rows]
    keep = [n for n in nodes if "Scan" in n or "Heap Fetches" in n]
    return "; ".join(keep)[:110]


async def run(url: str, project_id: str, repeat: int) -> None:
    db = await database.connect(url, pg_pool_min=1, pg_pool_max=2)
    try:
        total = await db.fetchval("SELECT COUNT(*) FROM customer WHERE project_id = $1", project_id)
        print(f"\n{db.kind}: {total:,} customers · page 1 (limit 10) + exact total, in process")
        print(f"  {'filter':40}{'total':>10}  {'p50 ms':>8}  {'p99 ms':>8}   COUNT plan")
        for label, params in await _cases(db, project_id):
            params = {"limit": "10", **params}
            page = await customers.list_(db, project_id=project_id, params=params)
            times = await seed.timed(
                lambda p=params: customers.list_(db, project_id=project_id, params=p), repeat
            )
            ordered = sorted(times)
            p50, p99 = (
                ordered[len(ordered) // 2],
                ordered[min(len(ordered) - 1, repeat * 99 // 100)],
            )
            plan = await _plan(db, project_id, params) if db.kind == "postgresql" else ""
            flag = "" if p50 < 0.025 else "  (over 25 ms)"
            print(
                f"  {label:40}{page.total:>10,}  {p50 * 1e3:8.2f}  {p99 * 1e3:8.2f}   {plan}{flag}",
                flush=True,
            )
    finally:
        await db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=30, help="timed calls per filter (30)")
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    p.add_argument("--keep", action="store_true", help="keep the scratch database; print its URL")
    p.add_argument("--url", help="an already seeded database (with --project): no seeding")
    p.add_argument("--project", help="the project whose customers --url holds")
    args = p.parse_args()
    if args.url:
        migrate.upgrade(args.url)  # new indexes, if any
        asyncio.run(run(args.url, args.project, args.repeat))
        return
    scratch: Any = (
        seed.ScratchSqlite() if args.db == "sqlite" else seed.ScratchPostgres(args.pg_admin_url)
    )
    try:
        started = time.perf_counter()
        seeded = scratch.seed(args.customers)
        print(f"seeded {args.customers:,} in {time.perf_counter() - started:.0f} s: {seeded.url}"
              f" --project {seeded.project_id}", flush=True)  # fmt: skip
        asyncio.run(run(seeded.url, seeded.project_id, args.repeat))
    finally:
        if args.keep:
            print(f"kept: --url {scratch.url} --project {seeded.project_id}")
        else:
            scratch.close()


if __name__ == "__main__":
    main()
