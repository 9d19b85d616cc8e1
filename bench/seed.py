"""Scratch databases for the benchmark: create, migrate, make one project, bulk-load customers.

Customers go straight into the table (SQLite `executemany` in large transactions, PostgreSQL
`COPY` through asyncpg) with realistic contents and `created_at` values spread over two years,
denser towards the present as a growing business's sign-ups are. The project's customer counter
is set to match through Patrons' own `repository.add_to_count` (so the bench follows the schema),
and statistics are gathered, as a database in service would have them.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import shutil
import sqlite3
import statistics
import string
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from patrons.core.clock import format_ms
from patrons.customers import repository
from patrons.customers.repository import OWN_COLUMNS as COLUMNS
from patrons.db import database, migrate
from patrons.projects import service as projects

# The columns each seeded row fills, in `_rows` order; any other customer column (added
# later, with a server default) keeps its default.
INSERT_COLUMNS = (
    *("project_id", "id", "source_id", "name", "description", "email", "phone", "birthdate"),
    *("birthday", "address_set", "address_city", "address_state", "address_line_1"),
    *("address_line_2", "address_country", "address_postal_code", "metadata", "created_at"),
    "updated_at",
)
assert set(INSERT_COLUMNS) <= {"project_id", *(c.strip() for c in COLUMNS.split(","))}
SQLITE_CHUNK = 50_000
SPAN_MS = 730 * 86_400_000  # two years of sign-ups
_ALNUM = string.ascii_letters + string.digits
_FIRST = (
    *("Ada", "Grace", "Alan", "Linus", "Barbara", "Edsger", "Donald", "Frances", "Ken"),
    *("Margaret", "Dennis", "Radia", "John", "Hedy", "Katherine", "Tim", "Sophie", "Guido"),
    *("Anita", "Niklaus", "Shafi", "Leslie", "Joan", "Bjarne", "Yukihiro", "Rasmus"),
)
_LAST = (
    *("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen"),
    *("Thompson", "Hamilton", "Ritchie", "Perlman", "McCarthy", "Lamarr", "Johnson"),
    *("Berners-Lee", "Wilson", "Rossum", "Borg", "Wirth", "Goldwasser", "Lamport"),
)
_CITIES = (
    ("Warsaw", "Mazowieckie", "PL", "00-001"),
    ("Berlin", "Berlin", "DE", "10115"),
    ("New York", "NY", "US", "10001"),
    ("Austin", "TX", "US", "73301"),
    ("London", None, "GB", "EC1A 1BB"),
    ("Lyon", "Auvergne-Rhone-Alpes", "FR", "69001"),
    ("Sao Paulo", "SP", "BR", "01000-000"),
    ("Tokyo", None, "JP", "100-0001"),
)
_PLANS = ("free", "starter", "pro", "enterprise")
_CHANNELS = ("web", "ios", "android", "pos", "import")


@dataclass
class Seeded:
    kind: str  # "sqlite" or "postgresql"
    url: str
    project_id: str
    app_id: str
    app_token: str
    ids: list[str]  # every seeded customer id
    newest_first: list[int]  # created_at of every customer, newest first (the default order)
    seconds: float  # time the bulk load took
    source_ids: list[str] = field(default_factory=list)  # every seeded source_id (95 % have one)

    def cursor_at(self, position: int) -> tuple[int, str]:
        """(epoch ms, wire timestamp) of the customer `position` places from the newest."""
        index = max(0, min(position, len(self.newest_first) - 12) - 1)
        ms = self.newest_first[index]
        return ms, format_ms(ms)


def _rows(n: int, *, project_id: str, now_ms: int, rng: random.Random) -> list[tuple[Any, ...]]:
    start = now_ms - SPAN_MS - 3_600_000
    # Density grows linearly with time: t = start + span * sqrt(u).
    created = sorted(start + int(SPAN_MS * math.sqrt(rng.random())) for _ in range(n))
    rows: list[tuple[Any, ...]] = []
    for i, created_at in enumerate(created):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}.{i}@example.com".lower()
        address: tuple[Any, ...] = (False, None, None, None, None, None, None)
        if rng.random() < 0.6:
            city, state, country, postal = rng.choice(_CITIES)
            line_1 = f"{rng.randint(1, 250)} {rng.choice(_LAST)} Street"
            address = (True, city, state, line_1, None, country, postal)
        birthdate = None
        if rng.random() < 0.4:
            year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
            birthdate = f"{year}-{month:02d}-{day:02d}"
        metadata = "{}"
        if rng.random() < 0.7:
            metadata = msgspec.json.encode(
                {
                    "plan": rng.choice(_PLANS),
                    "signup_channel": rng.choice(_CHANNELS),
                    "lifetime_orders": rng.randint(0, 60),
                    "newsletter": rng.random() < 0.5,
                }
            ).decode()
        updated_at = None
        if rng.random() < 0.3:
            updated_at = created_at + int((now_ms - created_at) * rng.random())
        rows.append(
            (
                project_id,
                "cust_" + "".join(rng.choices(_ALNUM, k=24)),
                f"crm-{i:08d}" if rng.random() < 0.95 else None,
                f"{first} {last}",
                "Seeded by bench/seed.py" if rng.random() < 0.1 else None,
                email,
                f"+48 {rng.randint(500_000_000, 899_999_999)}" if rng.random() < 0.5 else None,
                birthdate,
                birthdate,
                *address,
                metadata,
                created_at,
                updated_at,
            )
        )
    return rows


async def _count(url: str, project_id: str, n: int) -> None:
    """The project's live-customer counter, kept by Patrons' own repository function."""
    db = await database.connect(url, pg_pool_min=1, pg_pool_max=1)
    try:
        async with db.transaction() as conn:
            await repository.add_to_count(conn, project_id=project_id, delta=n)
    finally:
        await db.close()


async def _new_project(url: str) -> projects.Credentials:
    db = await database.connect(url, pg_pool_min=1, pg_pool_max=1)
    try:
        async with db.transaction() as conn:
            return await projects.create(conn, name="bench " + secrets.token_hex(3))
    finally:
        await db.close()


def _load_sqlite(path: str, rows: list[tuple[Any, ...]], project_id: str) -> None:
    marks = ", ".join("?" for _ in INSERT_COLUMNS)
    sql = f"INSERT INTO customer ({', '.join(INSERT_COLUMNS)}) VALUES ({marks})"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for i in range(0, len(rows), SQLITE_CHUNK):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[i : i + SQLITE_CHUNK])
            conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def _load_postgres(url: str, rows: list[tuple[Any, ...]], project_id: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("customer", records=rows, columns=list(INSERT_COLUMNS))
        await conn.execute("VACUUM ANALYZE customer")
        await conn.execute("VACUUM ANALYZE project")
    finally:
        await conn.close()


def _seed(kind: str, url: str, n: int) -> Seeded:
    migrate.upgrade(url)
    creds = asyncio.run(_new_project(url))
    now_ms = time.time_ns() // 1_000_000
    rows = _rows(n, project_id=creds.project_id, now_ms=now_ms, rng=random.Random(20260101))
    started = time.perf_counter()
    if kind == "sqlite":
        _load_sqlite(url.split("sqlite:///", 1)[1], rows, creds.project_id)
    else:
        asyncio.run(_load_postgres(url, rows, creds.project_id))
    asyncio.run(_count(url, creds.project_id, len(rows)))
    seconds = time.perf_counter() - started
    ids = [r[1] for r in rows]
    newest_first = [r[-2] for r in reversed(rows)]
    source_ids = [r[2] for r in rows if r[2] is not None]
    return Seeded(
        kind,
        url,
        creds.project_id,
        creds.app_id,
        creds.app_token,
        ids,
        newest_first,
        seconds,
        source_ids,
    )


class ScratchSqlite:
    """A SQLite file in a fresh temporary folder; the folder goes away on close()."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="patrons-bench-"))
        self.url = f"sqlite:///{self.folder / 'bench.db'}"

    def seed(self, n: int) -> Seeded:
        return _seed("sqlite", self.url, n)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class ScratchPostgres:
    """A database `patrons_bench_<hex>` created through `admin_url`; dropped on close()."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = "patrons_bench_" + secrets.token_hex(4)
        self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.name}"
        self.created = False

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def seed(self, n: int) -> Seeded:
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        self.created = True
        return _seed("postgresql", self.url, n)

    def close(self) -> None:
        if self.created:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.created = False


def postgres_problem(admin_url: str) -> str | None:
    """None when PostgreSQL answers at `admin_url`, else what went wrong."""

    async def probe() -> None:
        conn = await asyncpg.connect(admin_url, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# --- shared by the in-process benchmarks (segments.py, redeemables.py) ----------------------


async def timed(fn: Any, repeat: int) -> list[float]:
    """Seconds each of `repeat` awaited calls of `fn` took."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return times


def fmt(times: list[float], digits: int = 2) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    median = statistics.median(times) * 1e3
    return f"median {median:8.{digits}f} ms   p99 {p99 * 1e3:8.{digits}f} ms"


def for_each_database(db: str, pg_admin_url: str, customers: int, run: Any) -> None:
    """Seed `customers` into a scratch database of each kind asked for and `run(seeded)`."""
    kinds = ["sqlite", "postgresql"] if db == "both" else [db]
    for kind in kinds:
        scratch: Any = ScratchSqlite() if kind == "sqlite" else ScratchPostgres(pg_admin_url)
        try:
            asyncio.run(run(scratch.seed(customers)))
        finally:
            scratch.close()
