"""Hand-run benchmark: a big CSV import through the API, against the raw bulk load of the same
rows on the same database, in the same run — and what the API does meanwhile and after.

    .venv/bin/python bench/import_csv.py                       # both databases, 1,000,000 rows
    .venv/bin/python bench/import_csv.py --db sqlite --rows 200000 --chunk-rows 10000
    .venv/bin/python bench/import_csv.py --db postgresql --profile   # py-spy on the worker
    .venv/bin/python bench/import_csv.py --worker separate     # one `patrons worker` process

Per database: a scratch database (a SQLite file in a temporary folder, or a PostgreSQL database
`patrons_bench_<hex>` made through `--pg-admin-url` and dropped at the end) and `patrons serve`
as shipped — its embedded worker runs the job (`--worker separate`: PATRONS_EMBEDDED_WORKER=0
and ONE `patrons worker`); PATRONS_MAX_BODY_BYTES is raised to fit the file. The CSV is
streamed to POST /v1/customers/importCSV with httpx and GET /v1/async-actions/{id} is polled
until DONE. Printed, from one run (issue #14's "Done when"):

- import time (request start → DONE seen) vs the raw load, and worker / API peak RSS (the
  kernel's VmHWM, read before the processes stop) and CPU; the customer and event counts;
- the API's latency during the import: a probe thread calls GET /health and GET-by-id every
  `--probe-interval` (a steady light load on one connection), idle first (`--idle-seconds`)
  and then while the job runs; p50 / p99 / max of each (goal p99 < 50 ms);
- SQLite: the WAL file's peak size (sampled every 0.1 s) and what the job was doing then
  (goal ≤ 128 MB);
- after the import: `GET /v1/customers?limit=10` page 1 against `starting_after` pages deep in
  the imported customers (at #5,000, half way and near the end), one request at a time,
  interleaved, `--pages` each; p50 ratio to page 1 (goal ≤ 1.5), and every page ≤ 10 rows.

Baseline: the same CSV parsed with the csv module into customer rows (timed apart), then loaded
into the migrated `customer` table of another fresh scratch database: PostgreSQL one COPY
(asyncpg `copy_records_to_table`), SQLite one `executemany` INSERT in one transaction. Its ids
are made as the import makes them (ordered by created_at, which makes the load itself faster);
with `--baseline-ids both` (the default) the same load with random ids is timed too. The same
number of customer_event rows is loaded alone for reference (+events).
Goals: import ÷ baseline load ≤ 2.0, worker peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from harness import die_with_parent
from patrons.core.clock import format_ms
from patrons.core.ids import ordered_customer_id
from patrons.db import migrate

HOST = "127.0.0.1"  # load only ever targets the loopback interface
PROBE_INTERVAL = [0.02]  # set from --probe-interval (for the report)
HEADER = (
    *("Source_id", "Name", "Email", "Phone", "Birthdate", "City", "Postal_Code", "Country"),
    *("tier", "signup_channel"),
)
EVENT_COLUMNS = (
    *("project_id", "id", "customer_id", "type", "category", "group_id", "snapshot", "extra"),
    *("event_source", "created_at"),
)
INSERT_COLUMNS = (
    *("project_id", "id", "source_id", "name", "email", "phone", "birthdate", "address_set"),
    *("address_city", "address_postal_code", "address_country", "metadata", "created_at"),
)
_FIRST = (
    *("Ada", "Grace", "Alan", "Linus", "Barbara", "Edsger", "Donald", "Frances", "Ken", "Zoë"),
    *("Margaret", "Dennis", "Radia", "John", "Hedy", "Katherine", "Tim", "Sophie", "Guido"),
)
_LAST = (
    *("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen"),
    *("Thompson", "Hamilton", "Ritchie", "Perlman", "McCarthy", "Lamarr", "Müller", "Wirth"),
)
_CITIES = (
    ("Warsaw", "00-001", "PL"),
    ("Berlin", "10115", "DE"),
    ("Washington, D.C.", "20001", "US"),  # a quoted field with a comma
    ("Austin", "73301", "US"),
    ("London", "EC1A 1BB", "GB"),
    ("Lyon", "69001", "FR"),
    ("São Paulo", "01000-000", "BR"),
    ("Tokyo", "100-0001", "JP"),
)
_TIERS = ("free", "silver", "gold", "platinum", "gold, annual")  # the last one is quoted
_CHANNELS = ("web", "ios", "android", "pos", "referral")


# ----------------------------------------------------------------------------- the CSV file


def write_csv(path: Path, n: int, seed: int = 20261126) -> None:
    """N rows, streamed to disk in batches. Source ids are unique and in scattered order."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8", buffering=1 << 20) as f:
        out = csv.writer(f)  # QUOTE_MINIMAL: fields with commas come out quoted
        out.writerow(HEADER)
        batch: list[tuple[str, ...]] = []
        for i in range(n):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            # odd multiplier mod 2**32: a bijection, so unique ids in a shuffled order
            source_id = f"crm-{(i * 2654435761) % 4294967296:010d}"
            name = f"{last}, {first}" if rng.random() < 0.05 else f"{first} {last}"
            phone = f"+48 {rng.randint(500_000_000, 899_999_999)}" if rng.random() < 0.5 else ""
            birthdate = ""
            if rng.random() < 0.4:
                birthdate = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-"
                birthdate += f"{rng.randint(1, 28):02d}"
            city = postal = country = ""
            if rng.random() < 0.6:
                city, postal, country = rng.choice(_CITIES)
            batch.append(
                (
                    source_id,
                    name,
                    f"{first}.{last}.{i}@example.com".lower(),
                    phone,
                    birthdate,
                    city,
                    postal,
                    country,
                    rng.choice(_TIERS) if rng.random() < 0.8 else "",
                    rng.choice(_CHANNELS),
                )
            )
            if len(batch) >= 10_000:
                out.writerows(batch)
                batch.clear()
        out.writerows(batch)


# ------------------------------------------------------------------------- the baseline load


def parse_rows(path: Path, project_id: str, ids: str = "patrons") -> list[tuple[Any, ...]]:
    """The CSV → customer table rows (what the import stores), with the csv module.

    Ids as the import makes them (`ids="patrons"`: `cust_` + the row's created_at millisecond
    + random characters, so they sort in insert order) or random hex (`ids="random"`); each
    row gets its own created_at millisecond, as imported rows do."""
    now = time.time_ns() // 1_000_000
    rows: list[tuple[Any, ...]] = []
    encode = msgspec.json.encode
    token = secrets.token_hex
    ordered = ids == "patrons"
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for i, (
            source_id,
            name,
            email,
            phone,
            birth,
            city,
            postal,
            country,
            tier,
            chan,
        ) in enumerate(reader):
            metadata = {"tier": tier, "signup_channel": chan} if tier else {"signup_channel": chan}
            at = now + i
            rows.append(
                (
                    project_id,
                    ordered_customer_id(at, token(9)[:17]) if ordered else "cust_" + token(12),
                    source_id,
                    name or None,
                    email or None,
                    phone or None,
                    birth or None,
                    bool(city or postal or country),
                    city or None,
                    postal or None,
                    country or None,
                    encode(metadata).decode(),
                    at,
                )
            )
    return rows


def event_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One `customer.created` event per customer row, its snapshot the stored row as JSON: what
    the import's activity log writes besides the customers (for the second baseline)."""
    encode = msgspec.json.encode
    source = encode({"channel": "API"}).decode()
    out = []
    for row in rows:
        project_id, cid, source_id, name, email, phone, birth, addr, city, postal, country = row[
            :11
        ]
        meta, at = row[11], row[12]
        snapshot = {
            "id": cid,
            "source_id": source_id,
            "name": name,
            "description": None,
            "email": email,
            "phone": phone,
            "birthdate": birth,
            "birthday": None,
            "address_set": addr,
            "address_city": city,
            "address_state": None,
            "address_line_1": None,
            "address_line_2": None,
            "address_country": country,
            "address_postal_code": postal,
            "metadata": msgspec.Raw(meta.encode()),
            "created_at": at,
            "updated_at": None,
        }
        out.append(
            (project_id, "evcus_" + secrets.token_hex(9), cid, "customer.created", "ACTION",
             None, encode(snapshot).decode(), None, source, at)
        )  # fmt: skip
    return out


def load_sqlite(db_path: Path, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    marks = ", ".join("?" for _ in columns)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def load_postgres(url: str, table: str, columns: tuple[str, ...], rows: list[Any]) -> float:
    """COPY; returns the CPU seconds of the backend that ran it (read before it exits)."""
    conn = await asyncpg.connect(url)
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        before = cpu_seconds({pid})
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        return cpu_seconds({pid}) - before
    finally:
        await conn.close()


def load(url: str, table: str, columns: tuple[str, ...], rows: list[Any]) -> tuple[float, float]:
    """Seconds to bulk-load `rows` into `table` (one transaction / one COPY), and the CPU
    seconds of the PostgreSQL backend that did it (0 on SQLite, which runs in-process)."""
    t0 = time.perf_counter()
    backend = 0.0
    if url.startswith("sqlite:"):
        load_sqlite(Path(url.split("sqlite:///", 1)[1]), table, columns, rows)
    else:
        backend = asyncio.run(load_postgres(url, table, columns, rows))
    return time.perf_counter() - t0, backend


# ------------------------------------------------------------------------ scratch databases


class Scratch:
    """Scratch databases of one kind; every one is removed by close()."""

    def __init__(self, kind: str, admin_url: str) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.folder = Path(tempfile.mkdtemp(prefix="patrons-import-bench-"))
        self.pg_names: list[str] = []

    def new(self, label: str) -> str:
        """A fresh, migrated database; its URL."""
        if self.kind == "sqlite":
            url = f"sqlite:///{self.folder / (label + '.db')}"
        else:
            name = "patrons_bench_" + secrets.token_hex(4)
            asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
            self.pg_names.append(name)
            OUR_DBS.add(name)
            url = f"{self.admin_url.rsplit('/', 1)[0]}/{name}"
        migrate.upgrade(url)
        return url

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def close(self) -> None:
        for name in self.pg_names:
            try:
                asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:
                print(f"  could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(self.folder, ignore_errors=True)


def has_table(url: str, table: str) -> bool:
    if url.startswith("sqlite:"):
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
    else:
        sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1"
    return bool(sql_value(url, sql, table))


def sql_value(url: str, sql: str, *args: Any) -> Any:
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        try:
            return conn.execute(sql.replace("$1", "?"), args).fetchone()[0]
        finally:
            conn.close()

    async def fetch() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(fetch())


# ------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _proc_table() -> dict[int, tuple[str, int, int]]:
    """pid → (name, parent pid, user+system ticks)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            rest = stat.rsplit(")", 1)[1].split()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            table[int(entry.name)] = (name, int(rest[1]), int(rest[11]) + int(rest[12]))
    return table


def tree(root: int) -> set[int]:
    procs = _proc_table()
    found, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, (_, ppid, _) in procs.items() if ppid in frontier} - found
        found |= frontier
    return found


def kib(pid: int, key: str) -> int:
    """A /proc/<pid>/status field in KiB (VmRSS, VmHWM); 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


TICK = os.sysconf("SC_CLK_TCK")
OUR_DBS: set[str] = set()  # scratch PostgreSQL databases of this run


def _ours_in_postgres(pid: int) -> bool:
    """A PostgreSQL background process, or a backend serving one of our scratch databases
    (other jobs' backends on the same server are someone else's load)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if "(" not in title and "[local]" not in title:
        return True  # checkpointer, walwriter, background writer, postmaster …
    return any(db in title for db in OUR_DBS)


def cpu_seconds(pids: set[int] | None = None, postgres: bool = False) -> float:
    return sum(
        t / TICK
        for pid, (n, _, t) in _proc_table().items()
        if (pids is not None and pid in pids)
        or (postgres and n == "postgres" and _ours_in_postgres(pid))
    )


def _busy_ticks() -> int:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[0] + fields[1] + fields[2]  # user nice system


class CpuWatch:
    """CPU (in cores) used by processes that are not this benchmark's: another job on a
    2-core box skews every number here, and this says by how much."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = _busy_ticks()
        self.ours0 = self._ours()

    @staticmethod
    def _ours() -> float:
        t = os.times()
        return cpu_seconds(tree(os.getpid()), postgres=True) + t.children_user + t.children_system

    def foreign_cores(self, exited_ours: float = 0.0) -> float:
        """`exited_ours`: CPU seconds of our processes that have exited since (a COPY backend)."""
        seconds = max(time.monotonic() - self.t0, 1e-3)
        busy = (_busy_ticks() - self.busy0) / TICK
        return max(0.0, (busy - (self._ours() - self.ours0) - exited_ours) / seconds)


def wait_quiet(limit: float, threshold: float = 0.25) -> float:
    """Up to `limit` seconds until other processes use under `threshold` cores for a second."""
    deadline = time.monotonic() + limit
    while True:
        watch = CpuWatch()
        time.sleep(1.0)
        load = watch.foreign_cores()
        if load < threshold or time.monotonic() >= deadline:
            return load


class Proc:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.p = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.p.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.p.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.p.wait(timeout=5)


class RssWatch(threading.Thread):
    """Samples VmRSS of the given processes until stopped: a cross-check of VmHWM, which is
    read at the end. (The pid sets are fixed up front: walking /proc costs CPU.)"""

    def __init__(self, pids: dict[str, set[int]], wal: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.wal = wal  # SQLite: also the peak size of the -wal file
        self.wal_peak = 0
        self.where = "before the upload"  # what the run was doing (set by the main thread)
        self.wal_peak_where = ""
        self.wal_job_peak = 0
        self.peak: Counter[str] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.done.wait(0.1):  # the WAL every 0.1 s, RSS every 0.5 s
            tick += 1
            if tick % 5 == 0:
                for label, pids in self.pids.items():
                    rss = max((kib(pid, "VmRSS") for pid in pids), default=0)
                    self.peak[label] = max(self.peak[label], rss)
            if self.wal is not None:
                with contextlib.suppress(OSError):
                    size = self.wal.stat().st_size
                    if size > self.wal_peak:
                        self.wal_peak, self.wal_peak_where = size, self.where
                    if self.where.startswith("IN_PROGRESS"):  # the job's chunks alone
                        self.wal_job_peak = max(self.wal_job_peak, size)


class Probe(threading.Thread):
    """The API's latency while the import runs: `GET /health` and `GET /v1/customers/{id}`
    (a customer made before the upload), one after the other every `interval` seconds on one
    connection — a steady light load, not a flood that would slow the import it watches.
    Every sample is (phase, call, seconds); the phase is set by the main thread."""

    def __init__(self, base: str, headers: dict[str, str], customer_id: str, interval: float):
        super().__init__(daemon=True)
        self.base, self.headers, self.customer_id = base, headers, customer_id
        self.interval = interval
        self.phase = "idle"
        self.samples: list[tuple[str, str, float]] = []
        self.errors = 0
        self.done = threading.Event()

    def run(self) -> None:
        calls = (("health", "/health"), ("get", f"/v1/customers/{self.customer_id}"))
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as client:
            while not self.done.wait(self.interval):
                for name, path in calls:
                    phase = self.phase
                    t0 = time.perf_counter()
                    try:
                        ok = client.get(path).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = time.perf_counter() - t0
                    if not ok:
                        self.errors += 1
                    if phase == self.phase:  # a sample that straddles phases is dropped
                        self.samples.append((phase, name, elapsed))

    def quantiles(self, phase: str, name: str) -> tuple[int, float, float, float]:
        """n, p50, p99, max (ms)."""
        values = sorted(s for p, n, s in self.samples if (p, n) == (phase, name))
        if not values:
            return 0, float("nan"), float("nan"), float("nan")
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return len(values), statistics.median(values) * 1e3, p99 * 1e3, values[-1] * 1e3


def page_latency(
    client: httpx.Client, url: str, project_id: str, rows: int, n: int
) -> tuple[list[tuple[str, int, float, float, int]], list[str]]:
    """After the import: `GET /v1/customers?limit=10` (page 1) against `starting_after` pages
    deep in the imported customers, one request at a time, interleaved (page 1, deep A, deep
    B, …) so a passing load hits all alike. Per page: (label, position, p50 ms, p99 ms, most
    customers on one page); and problems (a page over its limit, or not starting after its
    cursor)."""
    positions = sorted({p for p in (5_000, rows // 2, rows - 100) if 0 < p < rows})
    pages: list[tuple[str, int, dict[str, str]]] = [("page 1", 0, {"limit": "10"})]
    for position in positions:
        created = sql_value(
            url,
            "SELECT created_at FROM customer WHERE project_id = $1"
            f" ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET {position}",
            project_id,
        )
        cursor = format_ms(created)
        pages.append((f"after #{position:,}", position, {"limit": "10", "starting_after": cursor}))
    times: dict[str, list[float]] = {label: [] for label, _, _ in pages}
    most: Counter[str] = Counter()
    problems: list[str] = []
    for i in range(n + 5):  # the first 5 rounds warm up and are not counted
        for label, _, params in pages:
            t0 = time.perf_counter()
            response = client.get("/v1/customers", params=params)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                problems.append(f"{label}: HTTP {response.status_code}")
                continue
            customers = response.json()["customers"]
            most[label] = max(most[label], len(customers))
            if len(customers) > 10:
                problems.append(f"{label}: {len(customers)} customers with limit=10")
            cursor = params.get("starting_after")
            if cursor and customers and customers[0]["created_at"] >= cursor:
                problems.append(f"{label}: first customer not before the cursor")
            if i >= 5:
                times[label].append(elapsed)
    out = []
    for label, position, _ in pages:
        values = sorted(times[label])
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))] if values else float("nan")
        p50 = statistics.median(values) if values else float("nan")
        out.append((label, position, p50 * 1e3, p99 * 1e3, most[label]))
    return out, sorted(set(problems))


# ---------------------------------------------------------------------------------- a run


@dataclass
class Result:
    db: str
    rows: int
    upload_s: float = 0.0
    import_s: float = 0.0
    processing_s: float = 0.0
    parse_s: float = 0.0
    baseline_s: float = 0.0
    baseline_random_s: float = 0.0  # the same load with random ids (--baseline-ids both)
    worker_rss_mb: float = 0.0
    api_rss_mb: float = 0.0
    worker_cpu_s: float = 0.0
    api_cpu_s: float = 0.0
    pg_cpu_s: float = 0.0
    other_cpu_base: float = 0.0
    events_s: float = 0.0  # baseline: the same number of customer_event rows, loaded alone
    events_written: int = 0
    base_cpu_s: float = 0.0
    base_pg_cpu_s: float = 0.0
    other_cpu_import: float = 0.0
    worker: str = "embedded"
    probe: dict[tuple[str, str], tuple[int, float, float, float]] = field(default_factory=dict)
    probe_errors: int = 0
    wal_peak_mb: float = 0.0
    wal_peak_where: str = ""
    wal_job_peak_mb: float = 0.0
    pages: list[tuple[str, int, float, float, int]] = field(default_factory=list)
    count: int = 0
    done_count: int = 0
    failed_count: int = 0
    notes: list[str] = field(default_factory=list)


def run_import(args: argparse.Namespace, kind: str, csv_path: Path, res: Result) -> None:
    scratch = Scratch(kind, args.pg_admin_url)
    procs: list[Proc] = []
    try:
        # -- a second baseline with random ids (the load of the same rows as a naive loader
        # would make them), before the main one
        if args.baseline_ids == "both":
            url = scratch.new("baseline_random")
            rows = parse_rows(csv_path, "proj_bench", "random")
            wait_quiet(args.quiet_wait)
            res.baseline_random_s, _ = load(url, "customer", INSERT_COLUMNS, rows)
            del rows
            print(f"  [{kind}] baseline with random ids: load {res.baseline_random_s:.1f}s")

        # -- baseline: parse, then load into a fresh migrated database
        url = scratch.new("baseline")
        t0 = time.perf_counter()
        ids = "random" if args.baseline_ids == "random" else "patrons"
        rows = parse_rows(csv_path, "proj_bench", ids)
        res.parse_s = time.perf_counter() - t0
        wait_quiet(args.quiet_wait)
        watch_cpu = CpuWatch()
        cpu0 = (cpu_seconds({os.getpid()}), cpu_seconds(postgres=True))
        res.baseline_s, backend_cpu = load(url, "customer", INSERT_COLUMNS, rows)
        res.other_cpu_base = watch_cpu.foreign_cores(backend_cpu)
        res.base_cpu_s = cpu_seconds({os.getpid()}) - cpu0[0]
        res.base_pg_cpu_s = cpu_seconds(postgres=True) - cpu0[1] + backend_cpu
        if has_table(url, "customer_event"):
            events = event_rows(rows)
            del rows
            wait_quiet(args.quiet_wait)
            res.events_s, _ = load(url, "customer_event", EVENT_COLUMNS, events)
            del events
        else:
            del rows
        loaded = sql_value(url, "SELECT COUNT(*) FROM customer WHERE project_id = $1", "proj_bench")
        if loaded != res.rows:
            res.notes.append(f"baseline loaded {loaded} rows, expected {res.rows}")
        print(
            f"  [{kind}] baseline: parse {res.parse_s:.1f}s, load {res.baseline_s:.1f}s,"
            f" events load {res.events_s:.1f}s"
        )

        # -- the import through the API and its worker
        url = scratch.new("patrons")
        app_id, app_token = "bench-app", "bench-" + secrets.token_hex(16)
        env = {
            **os.environ,
            "PATRONS_DATABASE_URL": url,
            "PATRONS_APP_ID": app_id,
            "PATRONS_APP_TOKEN": app_token,
            "PATRONS_ACCESS_LOG": "0",
            "PATRONS_EMBEDDED_WORKER": "1" if args.worker == "embedded" else "0",
            "PATRONS_MAX_BODY_BYTES": str(csv_path.stat().st_size + (16 << 20)),
        }
        if args.chunk_rows:
            env["PATRONS_WORKER_CHUNK_ROWS"] = str(args.chunk_rows)
        port = free_port()
        python = [sys.executable, "-m", "patrons"]
        serve_argv = [*python, "serve", "--host", HOST, "--port", str(port)]
        api = Proc(serve_argv, env, scratch.folder / "serve.log")
        procs.append(api)
        base = f"http://{HOST}:{port}"
        headers = {"X-App-Id": app_id, "X-App-Token": app_token}
        with httpx.Client(base_url=base, headers=headers, timeout=None) as client:
            wait_ready(client, api)
            seed = client.post("/v1/customers", json={"source_id": "probe", "name": "Probe"})
            if seed.status_code != 200:
                raise RuntimeError(f"probe customer: HTTP {seed.status_code} {seed.text[:300]}")
            if args.worker == "separate":
                worker = Proc([*python, "worker"], env, scratch.folder / "worker.log")
                procs.append(worker)
                time.sleep(1.0)  # its own migrate check and pool start, before the clock starts
                if worker.p.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{worker.tail()}")
                worker_pids = {worker.p.pid}
            else:
                worker = api  # the job runs on a thread of the API's granian worker process
                worker_pids = tree(api.p.pid) - {api.p.pid}
            project_id = sql_value(url, "SELECT project_id FROM api_key WHERE app_id = $1", app_id)
            api_pids = tree(api.p.pid)
            wal = Path(url.split("sqlite:///", 1)[1] + "-wal") if kind == "sqlite" else None
            watch = RssWatch({"worker": worker_pids, "api": api_pids}, wal)
            watch.start()
            probe = Probe(base, headers, seed.json()["id"], args.probe_interval)
            spy_pid = max(worker_pids)
            spy_out = scratch.folder / "worker.pyspy"
            spy = start_pyspy(spy_pid, spy_out) if args.profile else None

            wait_quiet(args.quiet_wait)
            probe.start()
            time.sleep(args.idle_seconds)  # the probe's idle baseline
            cpu0 = (cpu_seconds(worker_pids), cpu_seconds(api_pids), cpu_seconds(postgres=True))
            watch_cpu = CpuWatch()
            probe.phase = "upload"
            watch.where = "during the upload"
            t0 = time.perf_counter()
            with csv_path.open("rb") as f:
                response = client.post(
                    "/v1/customers/importCSV", files={"file": (csv_path.name, f, "text/csv")}
                )
            res.upload_s = time.perf_counter() - t0
            if response.status_code != 202:
                raise RuntimeError(f"upload: HTTP {response.status_code} {response.text[:500]}")
            probe.phase = "job"
            action_id = response.json()["async_action_id"]
            action = poll(client, action_id, worker, t0, args.timeout, watch)
            res.import_s = time.perf_counter() - t0
            probe.phase = "after"
            res.other_cpu_import = watch_cpu.foreign_cores()

            cpu1 = (cpu_seconds(worker_pids), cpu_seconds(api_pids), cpu_seconds(postgres=True))
            res.worker_cpu_s, res.api_cpu_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
            res.pg_cpu_s = cpu1[2] - cpu0[2]
            probe.done.set()
            probe.join()
            res.probe = {
                (phase, name): probe.quantiles(phase, name)
                for phase in ("idle", "job")
                for name in ("health", "get")
            }
            res.probe_errors = probe.errors
            if spy is not None:
                stop_pyspy(spy, spy_out, kind)
            watch.done.set()
            watch.join()
            api_hwm = {pid: kib(pid, "VmHWM") for pid in tree(api.p.pid)}
            if wal is not None:
                res.wal_peak_mb = watch.wal_peak / 1e6
                res.wal_peak_where = watch.wal_peak_where
                res.wal_job_peak_mb = watch.wal_job_peak / 1e6
            res.worker_rss_mb = (
                max(max(kib(pid, "VmHWM") for pid in worker_pids), watch.peak["worker"]) / 1024
            )
            res.api_rss_mb = max(max(api_hwm.values()), watch.peak["api"]) / 1024
            res.notes.append(
                "API tree VmHWM MB: "
                + ", ".join(f"pid {pid} {v / 1024:.0f}" for pid, v in sorted(api_hwm.items()))
            )
            if args.pages:
                wait_quiet(args.quiet_wait)
                res.pages, problems = page_latency(client, url, project_id, res.rows, args.pages)
                res.notes += [f"page check: {p}" for p in problems]
        result = action.get("result") or {}
        res.processing_s = action.get("processing_time", 0) / 1000
        res.done_count = result.get("done_count", 0)
        res.failed_count = result.get("failed_count", 0)
        if action["status"] != "DONE":
            res.notes.append(f"action ended {action['status']}: {str(result)[:300]}")
        res.count = sql_value(  # less the probe's customer
            url, "SELECT COUNT(*) - 1 FROM customer WHERE project_id = $1", project_id
        )
        if has_table(url, "customer_event"):
            res.events_written = sql_value(
                url, "SELECT COUNT(*) - 1 FROM customer_event WHERE project_id = $1", project_id
            )
        if res.count != res.rows:
            res.notes.append(f"COUNT MISMATCH: {res.count} customers, expected {res.rows}")
    except BaseException:
        for proc in procs:
            print(f"--- {proc.log.name}\n{proc.tail()}", file=sys.stderr)
        raise
    finally:
        for proc in reversed(procs):
            proc.stop()
        scratch.close()


def wait_ready(client: httpx.Client, api: Proc, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.p.poll() is not None:
            raise RuntimeError(f"patrons serve exited:\n{api.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if client.get("/v1/customers", params={"limit": 1}, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"patrons serve not ready after {timeout:.0f}s:\n{api.tail()}")


def poll(
    client: httpx.Client,
    action_id: str,
    worker: Proc,
    t0: float,
    limit: float,
    watch: RssWatch | None = None,
) -> dict:
    last_print = time.perf_counter()
    while True:
        action = client.get(f"/v1/async-actions/{action_id}").json()
        if action["status"] in ("DONE", "FAILED"):
            return action
        if watch is not None:
            watch.where = f"{action['status']} at {action['progress']}%"
        now = time.perf_counter()
        if now - t0 > limit:
            raise RuntimeError(f"import not done after {limit:.0f}s: {action}")
        if worker.p.poll() is not None:
            raise RuntimeError(f"worker exited:\n{worker.tail()}")
        if now - last_print >= 15:
            print(f"    {now - t0:6.1f}s  {action['status']} {action['progress']}%", flush=True)
            last_print = now
        time.sleep(0.25)


# ------------------------------------------------------------------------------ profiling


def start_pyspy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("  --profile: py-spy not found (.venv/bin/pip install py-spy)", file=sys.stderr)
        return None
    argv = [exe, "record", "--pid", str(pid), "--rate", "100", "--idle", "--threads",
            "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_pyspy(spy: subprocess.Popen[bytes], out: Path, kind: str) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
    if not out.exists():
        print(f"  py-spy wrote nothing: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}")
        return
    keep = Path(__file__).parent / "results" / f"import-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(out, keep)
    print_profile(out, kind, keep)


def print_profile(path: Path, kind: str, kept: Path, top: int = 25) -> None:
    """Self and inclusive time per function on the job's threads, from py-spy's collapsed
    stacks: the worker's event loop (`MainThread` of `patrons worker`, `patrons-worker` in the
    API process) and the threads rows are converted on (`asyncio_*`)."""
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    per_thread: Counter[str] = Counter()
    total = 0
    embedded = any("patrons-worker" in line for line in path.read_text().splitlines()[:2000])
    loop_thread = "patrons-worker" if embedded else "MainThread"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if frames and frames[0].startswith("thread "):
            name = frames[0].split(": ", 1)[-1]
            if name != loop_thread and not name.startswith("asyncio_"):
                continue
            per_thread[name.split("_")[0]] += int(count)
            frames = frames[1:]
        if not stack:
            continue
        n = int(count)
        total += n
        if frames:
            self_t[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return
    print(f"\n  worker profile ({kind}, {total} samples at 100 Hz incl. idle; stacks: {kept})")
    print("  samples per thread: " + ", ".join(f"{t} {n}" for t, n in per_thread.most_common()))
    print("  self time:")
    for frame, n in self_t.most_common(top):
        print(f"    {100 * n / total:5.1f}%  {frame}")
    print("  inclusive time:")
    for frame, n in incl.most_common(top + 10):
        print(f"    {100 * n / total:5.1f}%  {frame}")


# --------------------------------------------------------------------------------- report


def report(results: list[Result]) -> None:
    head = ("db", "rows", "upload s", "import s", "rows/s", "parse s", "baseline s",
            "import/base", "base random-id s", "import/base random", "+events s",
            "import/(base+ev)", "worker RSS MB", "API RSS MB")  # fmt: skip
    table = [head]
    for r in results:
        ratio = r.import_s / r.baseline_s if r.baseline_s else float("nan")
        both = r.baseline_s + r.events_s
        table.append(
            (
                r.db,
                f"{r.rows:,}",
                f"{r.upload_s:.1f}",
                f"{r.import_s:.1f}",
                f"{r.rows / r.import_s:,.0f}" if r.import_s else "-",
                f"{r.parse_s:.1f}",
                f"{r.baseline_s:.1f}",
                f"{ratio:.2f}" + (" ok" if ratio <= 2.0 else " OVER"),
                f"{r.baseline_random_s:.1f}" if r.baseline_random_s else "-",
                (
                    f"{r.import_s / r.baseline_random_s:.2f}"
                    + (" ok" if r.import_s / r.baseline_random_s <= 2.0 else " OVER")
                )
                if r.baseline_random_s
                else "-",
                f"{r.events_s:.1f}" if r.events_s else "-",
                f"{r.import_s / both:.2f}" if r.events_s else "-",
                f"{r.worker_rss_mb:.0f}" + (" ok" if r.worker_rss_mb < 300 else " OVER"),
                f"{r.api_rss_mb:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for i, row in enumerate(table):
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "\nimport = upload start → DONE seen; baseline = one COPY / one executemany of the same"
        " customers (load only; parse apart), with ids made as the import makes them (ordered"
        " by created_at);\nbase random-id = the same load with random ids.\n+events = the same"
        " number of customer_event rows"
        " (JSON snapshots) loaded the same way, for an import that also writes its activity log."
        "\ngoals: import/base <= 2.0, worker peak RSS < 300 MB"
    )
    for r in results:
        print(
            f"\n[{r.db}] processing_time {r.processing_s:.1f}s (claim → DONE, by the API);"
            f" CPU during import: worker {r.worker_cpu_s:.1f}s"
            + (
                f", API {r.api_cpu_s:.1f}s"
                if r.worker == "separate"
                else " (the API's granian worker process: API + embedded worker)"
            )
            + (f", postgres {r.pg_cpu_s:.1f}s" if r.db == "postgresql" else "")
        )
        print(
            f"  customers {r.count:,} (done {r.done_count:,}, failed {r.failed_count:,});"
            f" customer_event rows written by the import: {r.events_written:,}"
        )
        print(
            f"  CPU during the baseline customer load: loader {r.base_cpu_s:.1f}s"
            + (f", postgres {r.base_pg_cpu_s:.1f}s" if r.db == "postgresql" else "")
        )
        busy = max(r.other_cpu_base, r.other_cpu_import) > 0.25
        print(
            f"  other processes' CPU (cores): {r.other_cpu_base:.2f} during the baseline load,"
            f" {r.other_cpu_import:.2f} during the import"
            + ("  <- the box was busy: numbers skewed, run again" if busy else "")
        )
        if r.probe:
            print(
                f"  API during the import ({r.worker} worker; one GET /health + one GET-by-id"
                f" every {PROBE_INTERVAL[0] * 1e3:.0f} ms; probe errors {r.probe_errors}):"
            )
            print(f"    {'call':<10}{'phase':<6}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
            for name in ("health", "get"):
                for phase in ("idle", "job"):
                    n, p50, p99, top = r.probe[(phase, name)]
                    mark = ""
                    if phase == "job":
                        mark = "  ok (< 50)" if p99 < 50 else "  OVER (goal p99 < 50 ms)"
                    print(f"    {name:<10}{phase:<6}{n:>7}{p50:>9.1f}{p99:>9.1f}{top:>9.1f}{mark}")
        if r.db == "sqlite":
            verdict = "ok" if r.wal_peak_mb <= 128 else "OVER (goal <= 128 MB)"
            print(
                f"  SQLite WAL peak: {r.wal_peak_mb:,.1f} MB {verdict} ({r.wal_peak_where});"
                f" while the job ran: {r.wal_job_peak_mb:,.1f} MB"
            )
        if r.pages:
            first = r.pages[0][2]
            print("  list pages after the import (limit=10, one request at a time):")
            for label, _, p50, p99, most in r.pages:
                ratio = p50 / first if first else float("nan")
                mark = (
                    "" if label == "page 1" else (" ok" if ratio <= 1.5 else " OVER (goal <= 1.5)")
                )
                print(
                    f"    {label:<18} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  most per page {most}"
                    f"  p50 / page 1 {ratio:.2f}{mark}"
                )
        for note in r.notes:
            print(f"  {note}")


def code_version() -> str:
    """The commit measured (and whether src/ had uncommitted changes): src/ moves fast."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return sha + (" + uncommitted changes in src/" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--chunk-rows", type=int, default=None, help="PATRONS_WORKER_CHUNK_ROWS (default: 5000)"
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each timed phase, wait up to S seconds for other jobs to leave the CPU",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per import")
    parser.add_argument(
        "--worker",
        choices=("embedded", "separate"),
        default="embedded",
        help="the job runs on the API's embedded worker (the default set-up) or one `patrons"
        " worker` process",
    )
    parser.add_argument(
        "--probe-interval",
        type=float,
        default=0.02,
        help="seconds between the probe's GET /health + GET-by-id pairs during the import",
    )
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="probe idle baseline")
    parser.add_argument(
        "--pages", type=int, default=200, help="requests per page in the deep-page check (0: off)"
    )
    parser.add_argument(
        "--baseline-ids",
        choices=("patrons", "random", "both"),
        default="both",
        help="customer ids of the baseline rows: made as the import makes them (ordered by"
        " created_at, customers/bulk_writer.py), random hex, or both (two loads, the ratio"
        " against each)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the worker (slows it)")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    PROBE_INTERVAL[0] = args.probe_interval

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # so every `finally` stops servers and drops databases

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    print(f"code: {code_version()}")
    folder = Path(tempfile.mkdtemp(prefix="patrons-import-csv-"))
    results: list[Result] = []
    try:
        csv_path = folder / f"customers-{args.rows}.csv"
        t0 = time.perf_counter()
        write_csv(csv_path, args.rows)
        size = csv_path.stat().st_size
        print(f"CSV: {args.rows:,} rows, {size / 1e6:.1f} MB, written in"
              f" {time.perf_counter() - t0:.1f}s ({csv_path})")  # fmt: skip
        for kind in kinds:
            res = Result(kind, args.rows, worker=args.worker)
            print(f"{kind}: importing …", flush=True)
            run_import(args, kind, csv_path, res)
            results.append(res)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if results:
            report(results)
            print(f"\ncode at the end: {code_version()}")


if __name__ == "__main__":
    main()
