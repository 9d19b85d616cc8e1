"""Diagnostic: microseconds per request of the ASGI apps themselves, with no server and no load
generator — the cleanest view of what Patrons' layers cost over the baseline on this machine.

    .venv/bin/python bench/inprocess.py [--db sqlite|postgresql] [--customers 20000]

Each app is driven directly (`await app(scope, receive, send)`, one request at a time) after
its lifespan has started. Besides Patrons as it is, two variants isolate layers:

- "without the Gateway": the Litestar app called directly, with the project already resolved;
- "dependencies resolved one by one": Litestar patched *in this process only* to resolve a
  batch of dependencies sequentially instead of in an anyio TaskGroup (what-if, not a fix).

Then the pieces of the GET path are timed alone. Nothing under src/ is changed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import baseline_app
import seed
from patrons.core import clock, ids
from patrons.customers import repository
from patrons.customers import service as customers
from patrons.db import database
from patrons.projects.service import Project

App = Callable[..., Awaitable[None]]


def _scope(path: str, query: bytes, headers: list[tuple[bytes, bytes]], extra: dict) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
        **extra,
    }


class Driver:
    """One app with its lifespan started; `round(n)` sends n requests one at a time."""

    def __init__(self, app: App, headers: list, extra: dict) -> None:
        self.app, self.headers, self.extra = app, headers, extra
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: list[dict[str, Any]] = []
        self.statuses: set[int] = set()

    async def start(self) -> None:
        await self.inbox.put({"type": "lifespan.startup"})

        async def lsend(message: dict[str, Any]) -> None:
            self.outbox.append(message)

        lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}}
        self.life = asyncio.create_task(self.app(lifespan, self.inbox.get, lsend))
        while not self.outbox:
            await asyncio.sleep(0.01)
        if self.outbox[0]["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {self.outbox[0]}")

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.life

    async def round(self, requests: Callable[[], tuple[str, bytes]], n: int) -> tuple[float, float]:
        """(wall, CPU) seconds per request. CPU time is this process's, so on PostgreSQL it
        leaves out the database server's share and the network wait."""

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.statuses.add(message["status"])

        app, headers, extra = self.app, self.headers, self.extra
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            path, query = requests()
            await app(_scope(path, query, headers, extra), receive, send)
        if self.statuses != {200}:
            raise RuntimeError(f"statuses seen: {sorted(self.statuses)}")
        return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def _sequential_dependencies() -> Callable[[], None]:
    """Patch Litestar (this process only) to resolve dependency batches one at a time."""
    from litestar._kwargs import kwargs_model
    from litestar._kwargs.cleanup import DependencyCleanupGroup
    from litestar._kwargs.dependencies import resolve_dependency

    original = kwargs_model.KwargsModel.resolve_dependencies

    async def sequential(self: Any, connection: Any, kwargs: dict[str, Any]) -> Any:
        cleanup = DependencyCleanupGroup()
        for batch in self.dependency_batches:
            for dependency in batch:
                await resolve_dependency(dependency, connection, kwargs, cleanup)
        return cleanup

    kwargs_model.KwargsModel.resolve_dependencies = sequential  # type: ignore[method-assign]

    def undo() -> None:
        kwargs_model.KwargsModel.resolve_dependencies = original  # type: ignore[method-assign]

    return undo


async def _pieces(data: seed.Seeded, n: int) -> list[tuple[str, float, float]]:
    db = await database.connect(data.url, pg_pool_min=1, pg_pool_max=2)
    out: list[tuple[str, float, float]] = []
    try:

        async def timed(label: str, fn: Callable[[], Awaitable[Any]]) -> None:
            for _ in range(200):
                await fn()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                await fn()
            out.append((label, (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n))

        pid, pick = data.project_id, data.ids
        rows = [await repository.get_by_id(db, project_id=pid, customer_id=i) for i in pick[:500]]
        at = iter(range(1 << 62))

        async def by_id() -> Any:
            return await repository.get_by_id(db, project_id=pid, customer_id=random.choice(pick))

        async def get() -> Any:
            return await customers.get(db, project_id=pid, ref=random.choice(pick))

        async def to_wire() -> Any:
            return customers.customer_to_wire(rows[next(at) % len(rows)])

        async def fmt() -> Any:
            return clock.format_ms(1_767_225_600_123 + next(at))

        async def request_id() -> Any:
            return ids.request_id()

        await timed("repository.get_by_id (SQL on the driver)", by_id)
        await timed("service.get (resolve + SQL + to_wire)", get)
        await timed("service.to_wire (one row → Customer)", to_wire)
        await timed("core.clock.format_ms (one timestamp)", fmt)
        await timed("core.ids.request_id (Gateway, per request)", request_id)
    finally:
        await db.close()
    return out


async def main_async(args: argparse.Namespace, data: seed.Seeded) -> None:
    os.environ.update(
        PATRONS_DATABASE_URL=data.url, BENCH_DATABASE_URL=data.url, BENCH_PROJECT_ID=data.project_id
    )
    from patrons.api.app import create_app

    headers = [
        (b"host", b"127.0.0.1"),
        (b"x-app-id", data.app_id.encode()),
        (b"x-app-token", data.app_token.encode()),
    ]
    authenticated = {"patrons_project": Project(data.project_id, data.app_id)}
    cases = {
        "GET /v1/customers/{id}": lambda: ("/v1/customers/" + random.choice(data.ids), b""),
        "GET /v1/customers?limit=10": lambda: ("/v1/customers", b"limit=10"),
    }
    n = args.requests
    variants = (
        ("baseline app (same SQL, raw ASGI)", baseline_app.create_app, {}, False),
        ("Patrons (Gateway + Litestar)", create_app, {}, False),
        ("Patrons without the Gateway (Litestar route)", lambda: create_app().app, authenticated,
         False),
        ("Patrons, dependencies resolved one by one*", create_app, {}, True),
    )  # fmt: skip
    for title, requests in cases.items():
        drivers = [Driver(make(), headers, extra) for _, make, extra, _ in variants]
        best = [(float("inf"), float("inf"))] * len(variants)
        for driver in drivers:
            await driver.start()
        try:
            for r in range(args.rounds + 1):  # round 0 warms up; rounds interleave the variants
                for i, (driver, variant) in enumerate(zip(drivers, variants, strict=True)):
                    undo = _sequential_dependencies() if variant[3] else None
                    try:
                        wall, cpu = await driver.round(requests, n if r else min(n, 1000))
                    finally:
                        if undo is not None:
                            undo()
                    if r:
                        best[i] = (min(best[i][0], wall), min(best[i][1], cpu))
        finally:
            for driver in drivers:
                await driver.stop()
        print(f"\n{title}  ({data.kind}, one request at a time, best of {args.rounds} x {n})")
        print(f"  {'wall µs':>9}  {'CPU µs':>8}  {'CPU vs baseline':>15}")
        base = best[0][1]
        for (label, *_), (wall, cpu) in zip(variants, best, strict=True):
            print(f"  {wall * 1e6:9.1f}  {cpu * 1e6:8.1f}  {cpu / base:14.1f}x  {label}")
    print(f"\npieces of the GET path ({data.kind}):")
    print(f"  {'wall µs':>9}  {'CPU µs':>8}")
    for label, wall, cpu in await _pieces(data, n):
        print(f"  {wall * 1e6:9.1f}  {cpu * 1e6:8.1f}  {label}")
    print("\n* Litestar patched in this process only, as a what-if; src/ is unchanged.")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--requests", type=int, default=5000, help="requests per round (5000)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per variant (5)")
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    logging.disable(logging.INFO)  # the embedded worker logs its start and stop
    scratch = (
        seed.ScratchSqlite() if args.db == "sqlite" else seed.ScratchPostgres(args.pg_admin_url)
    )
    try:
        data = scratch.seed(args.customers)
        asyncio.run(main_async(args, data))
    finally:
        scratch.close()


if __name__ == "__main__":
    main()
