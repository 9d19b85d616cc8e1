"""Hand-run benchmark: Patrons against a bare ASGI baseline on the same data, driver and server.

    .venv/bin/python bench/run.py --db both --customers 200000 --duration 10

For each database it seeds a scratch database, then runs Patrons and bench/baseline_app.py one
after the other (granian, 1 worker, on 127.0.0.1) under wrk, and prints req/s and p50/p99 latency
for GET-by-id, POST create, list page 1 and a deep keyset page, with the ratios that matter:

- Patrons GET-by-id and GET-by-source_id req/s ÷ baseline           (goal >= 0.90)
- Patrons POST create / PUT req/s ÷ baseline single INSERT / UPDATE  (goal >= 0.50)
- Patrons list page 1 (limit=100) req/s ÷ baseline, SQLite           (goal >= 0.90)
- deep-page p50 latency ÷ page-1 p50 latency (Patrons)               (goal <= 1.5)

Not part of the test suite. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import harness
import pyspy
import seed
from harness import Result, Server

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GOAL_GET_RATIO = 0.90
GOAL_WRITE_RATIO = 0.50
GOAL_DEEP_RATIO = 1.5
GOAL_LIST_RATIO = 0.90  # list page 1 (limit=100), SQLite (issue #16)


@dataclass
class Scenario:
    key: str
    label: str
    path: str
    script: Path
    connections: int


@dataclass
class DbReport:
    kind: str
    customers: int
    load_seconds: float
    cursor: str
    src: str = ""  # the Patrons code measured (commit, uncommitted changes)
    results: dict[str, dict[str, Result]] = field(default_factory=dict)  # server → key → result
    labels: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark Patrons against a bare ASGI baseline (same SQL, driver, server)."
    )
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--customers", type=int, default=200_000, help="customers to seed (200000)")
    p.add_argument("--duration", type=float, default=10, help="seconds per measurement (10)")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds before each (2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each scenario this many times per server, alternating servers, and report"
        " the median round (1; use 3 on a shared box)",
    )
    p.add_argument("--connections", type=int, default=32, help="wrk connections (32; 1 thread)")
    p.add_argument(
        "--deep", type=int, default=5000, help="cursor position of the deep page (5000 = page 501)"
    )
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="where to CREATE/DROP the scratch database (a maintenance db, never `test`)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, sample the servers with py-spy under load and print where time goes",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=15,
        help="before each measurement, wait up to this many seconds for other processes to stop"
        " using the CPU (15)",
    )
    p.add_argument(
        "--patrons-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the Patrons server, e.g. PATRONS_ACCESS_LOG=0 (repeatable)",
    )
    p.add_argument(
        "--baseline",
        choices=("raw", "starlette"),
        default="raw",
        help="the baseline's front end: raw ASGI + msgspec (default, the least a server can do),"
        " or Starlette + orjson (the baseline issue #16 was measured against; needs"
        " `pip install starlette orjson`)",
    )
    p.add_argument("--no-save", action="store_true", help="don't write bench/results/*.json")
    args = p.parse_args(argv)
    for item in args.patrons_env:
        if "=" not in item:
            p.error(f"--patrons-env wants NAME=VALUE, got {item!r}")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.customers < args.deep + 20:
        p.error(f"--customers must exceed --deep + 20 ({args.deep + 20})")
    return args


def src_version() -> str:
    """The commit measured, and a fingerprint of uncommitted changes under src/ if any."""
    root = HERE.parent

    def git(*argv: str) -> str:
        try:
            done = subprocess.run(["git", *argv], cwd=root, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.decode(errors="replace").strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    diff = git("diff", "HEAD", "--", "src")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "src")
    if not diff and not untracked:
        return f"{head} (src/ clean)"
    digest = hashlib.sha1((diff + untracked).encode()).hexdigest()[:8]
    return f"{head} + uncommitted src/ changes (fingerprint {digest})"


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _json(status_body: tuple[int, bytes], what: str) -> Any:
    status, body = status_body
    if status != 200:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


class DbBench:
    def __init__(self, args: argparse.Namespace, kind: str, work: Path) -> None:
        self.args = args
        self.kind = kind
        self.work = work
        self.report: DbReport | None = None
        self.pages: dict[str, list[str]] = {}  # first server's page ids, to compare the second's

    def run(self) -> None:
        args = self.args
        scratch = (
            seed.ScratchSqlite()
            if self.kind == "sqlite"
            else seed.ScratchPostgres(args.pg_admin_url)
        )
        try:
            print(f"\n[{self.kind}] seeding {args.customers:,} customers …", flush=True)
            self.data = data = scratch.seed(args.customers)
            rate = args.customers / data.seconds if data.seconds else 0
            print(f"  bulk load {data.seconds:.1f}s ({rate:,.0f} rows/s)", flush=True)
            self.cursor_ms, cursor = data.cursor_at(args.deep)
            self.report = DbReport(self.kind, args.customers, data.seconds, cursor)
            self.headers = {"X-App-Id": data.app_id, "X-App-Token": data.app_token}
            self.scenarios = self._scenarios(cursor)
            self._serve_both()
        finally:
            print(f"  removing scratch {self.kind} database", flush=True)
            scratch.close()

    # ------------------------------------------------------------------------ set-up

    def _scenarios(self, cursor: str) -> dict[str, Scenario]:
        c = self.args.connections
        ids_file = _write(self.work / f"{self.kind}-ids.txt", "\n".join(self.data.ids) + "\n")
        static = _write(self.work / f"{self.kind}-static.lua", harness.lua_script(self.headers))
        by_id = _write(
            self.work / f"{self.kind}-get.lua",
            harness.lua_script(self.headers, ids_file=ids_file, path_prefix="/v1/customers/"),
        )
        sids_file = _write(
            self.work / f"{self.kind}-sids.txt",
            "\n".join(quote(x, safe="") for x in self.data.source_ids) + "\n",
        )
        by_sid = _write(
            self.work / f"{self.kind}-get-sid.lua",
            harness.lua_script(self.headers, ids_file=sids_file, path_prefix="/v1/customers/"),
        )
        post = _write(
            self.work / f"{self.kind}-post.lua",
            harness.lua_script(self.headers, post_prefix=f"bench-{secrets.token_hex(4)}-"),
        )
        put = _write(
            self.work / f"{self.kind}-put.lua",
            harness.lua_script(
                self.headers, ids_file=ids_file, path_prefix="/v1/customers/", put=True
            ),
        )
        page1 = "/v1/customers?limit=10"
        page100 = "/v1/customers?limit=100"
        deep = f"/v1/customers?limit=10&starting_after={quote(cursor, safe='')}"
        deep_label = f"GET /v1/customers?limit=10&starting_after=<#{self.args.deep:,}>"
        scenarios = [
            Scenario("get", "GET /v1/customers/{random id}", "/v1/customers/", by_id, c),
            Scenario(
                "get_sid", "GET /v1/customers/{random source_id}", "/v1/customers/", by_sid, c
            ),
            Scenario("page1", "GET /v1/customers?limit=10", page1, static, c),
            Scenario("page100", "GET /v1/customers?limit=100", page100, static, c),
            Scenario("deep", deep_label, deep, static, c),
            Scenario("page1_c1", "  same, page 1, 1 connection", page1, static, 1),
            Scenario("deep_c1", "  same, deep page, 1 connection", deep, static, 1),
            Scenario("post", "POST /v1/customers (new source_id)", "/v1/customers", post, c),
            Scenario(
                "put", "PUT /v1/customers/{random id} (name, metadata)", "/v1/customers/", put, c
            ),
        ]
        assert self.report is not None
        self.report.labels = {s.key: s.label for s in scenarios}
        return {s.key: s for s in scenarios}

    def _start(self, name: str) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PATRONS_", "BENCH_"))}
        env["PYTHONUNBUFFERED"] = "1"
        env["PATRONS_DATABASE_URL"] = self.data.url
        if name == "patrons":
            # Keys for the server's default project; the benchmark uses its own project's keys.
            env["PATRONS_APP_ID"] = "bench-default-" + secrets.token_hex(4)
            env["PATRONS_APP_TOKEN"] = secrets.token_hex(16)
            env.update(item.split("=", 1) for item in self.args.patrons_env)
            argv = [sys.executable, "-m", "patrons", "serve"]
        else:
            env["BENCH_DATABASE_URL"] = self.data.url
            env["BENCH_PROJECT_ID"] = self.data.project_id
            argv = [sys.executable, str(HERE / "baseline_app.py"), "--style", self.args.baseline]
        server = Server(name, argv, env, self.work / f"{self.kind}-{name}.log")
        server.wait_ready("/v1/customers/" + self.data.ids[0], self.headers)
        return server

    def _check(self, server: Server) -> None:
        """Each endpoint answers correctly before it is loaded (and both servers agree)."""
        base, h = server.base, self.headers
        some = self.data.ids[len(self.data.ids) // 2]
        got = _json(harness.http_get(f"{base}/v1/customers/{some}", h), f"{server.name} GET")
        if got.get("id") != some:
            raise RuntimeError(f"{server.name} GET returned {got.get('id')!r}, wanted {some!r}")
        for key in ("page1", "deep"):
            page = _json(harness.http_get(base + self.scenarios[key].path, h), server.name + key)
            customers = page.get("customers") or []
            if len(customers) != 10 or not page.get("has_more"):
                raise RuntimeError(f"{server.name} {key}: {len(customers)} rows: {page!r:.300}")
            first = customers[0]["created_at"]
            first_ms = first if isinstance(first, int) else _parse_ms(first)
            if key == "deep" and first_ms >= self.cursor_ms:
                raise RuntimeError(f"{server.name} deep page starts at {first}, not before cursor")
            ids = [c["id"] for c in customers]
            if self.pages.setdefault(key, ids) != ids:
                raise RuntimeError(f"{server.name} {key} page differs from the baseline's")
        if server.name == "patrons":
            body = json.dumps({"source_id": "bench-check-" + secrets.token_hex(4)}).encode()
            created = _json(
                harness.http_get(
                    base + "/v1/customers", {**h, "Content-Type": "application/json"}, body=body
                ),
                "patrons POST",
            )
            if not created.get("id", "").startswith("cust_"):
                raise RuntimeError(f"patrons POST returned {created!r:.300}")

    # ------------------------------------------------------------------------ measuring

    def _serve_both(self) -> None:
        """Both servers up at once; every scenario measured `--rounds` times per server,
        alternating which goes first, so a passing load on the box hits both alike; the round
        with the median req/s is reported."""
        assert self.report is not None
        servers: dict[str, Server] = {}
        try:
            for name in ("baseline", "patrons"):
                if name == "patrons":
                    self.report.src = src_version()
                print(f"  starting {name}{' at ' + self.report.src if self.report.src else ''} …",
                      flush=True)  # fmt: skip
                servers[name] = self._start(name)
                self._check(servers[name])
            for key in self.scenarios:
                names = ["baseline", "patrons"]
                runs: dict[str, list[Result]] = {name: [] for name in names}
                for r in range(self.args.rounds):
                    for name in names if r % 2 == 0 else names[::-1]:
                        runs[name].append(self._measure(servers[name], self.scenarios[key]))
                for name, results in runs.items():
                    median = sorted(results, key=lambda res: res.rps)[(len(results) - 1) // 2]
                    self.report.results.setdefault(name, {})[key] = median
            if self.args.profile:
                self._profile(servers["baseline"], self.scenarios["get"])
                for key in ("get", "page1", "post", "put"):
                    self._profile(servers["patrons"], self.scenarios[key])
        finally:
            for server in servers.values():
                server.stop()

    def _measure(self, server: Server, s: Scenario) -> Result:
        url, pid = server.base + s.path, server.process.pid
        busy = harness.wait_quiet(pid, limit=self.args.quiet_wait)
        if busy >= 0.25:
            print(f"    (other processes busy: {busy:.2f} cores; measuring anyway)", flush=True)
        if self.args.warmup > 0:
            harness.run_wrk(
                url, s.script, connections=s.connections, seconds=self.args.warmup, server_pid=pid
            )
        r = harness.run_wrk(
            url, s.script, connections=s.connections, seconds=self.args.duration, server_pid=pid
        )
        errors = f"  non-2xx {r.non_2xx}" if r.non_2xx else ""
        errors += f"  socket errors {r.socket_errors}" if r.socket_errors else ""
        print(
            f"    {server.name:8} {s.label:52} {r.rps:9,.0f} req/s  p50 {r.p50_ms:6.2f} ms"
            f"  p99 {r.p99_ms:6.2f} ms  other CPU {r.foreign_cores:.2f}{errors}",
            flush=True,
        )
        return r

    def _profile(self, server: Server, s: Scenario) -> None:
        RESULTS.mkdir(exist_ok=True)
        workers = server.worker_pids() or [server.process.pid]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        raw = RESULTS / f"profile-{stamp}-{self.kind}-{server.name}-{s.key}.txt"
        spy = pyspy.start(workers[0], self.args.duration, raw)
        time.sleep(0.5)
        harness.run_wrk(
            server.base + s.path, s.script, connections=s.connections, seconds=self.args.duration
        )
        _, err = spy.communicate(timeout=self.args.duration + 60)
        if not raw.exists():
            text = f"  py-spy failed: {err.decode(errors='replace').strip()[:500]}"
        else:
            summary = pyspy.summarize(
                raw,
                seconds=round(self.args.duration),
                rate=pyspy.RATE,
                baseline=server.name == "baseline",
            )
            text = f"  raw stacks: {raw.relative_to(HERE.parent)}\n{summary}"
        title = f"{self.kind} · {server.name} · {s.label.strip()} (pid {workers[0]})"
        assert self.report is not None
        self.report.profiles[title] = text
        print(f"  profiled {title}", flush=True)


def _parse_ms(text: str) -> int:
    from patrons.core.clock import parse_datetime_ms

    return parse_datetime_ms(text)


# ---------------------------------------------------------------------------- reporting


NOISY = 0.15  # cores of CPU taken by other processes above which a measurement is flagged


def _fmt(r: Result) -> str:
    errs = r.non_2xx + r.socket_errors
    flag = " *" if r.foreign_cores > NOISY else ""
    return (
        f"{r.rps:9,.0f}  {r.p50_ms:8.2f}  {r.p99_ms:8.2f}  {errs:7d}  {r.foreign_cores:9.2f}{flag}"
    )


def _ratio(text: str, num: float, den: float, goal: float | None = None) -> str:
    """One ratio line; a positive goal is a floor (>=), a negative one a ceiling (<= -goal)."""
    value = num / den if den else float("nan")
    line = f"    {text:66}{value:6.2f}"
    if goal is None:
        return line
    ok = value >= goal if goal > 0 else value <= -goal
    sign = ">=" if goal > 0 else "<="
    return f"{line}   goal {sign} {abs(goal):.2f}  {'MET' if ok else 'MISSED'}"


def render(reports: list[DbReport], args: argparse.Namespace) -> str:
    cpus = os.cpu_count()
    lines = [
        "",
        "=" * 100,
        f"Patrons benchmark · {args.customers:,} customers · wrk 1 thread, {args.connections}"
        f" connections · {args.duration:g}s per measurement ({args.warmup:g}s warm-up)"
        + (f", median of {args.rounds} alternating rounds" if args.rounds > 1 else ""),
        f"{platform.node()} · {cpus} CPUs shared by wrk, the server and the database · "
        f"Python {platform.python_version()}",
        "baseline: "
        + (
            "Starlette + orjson on the same SQL (issue #16's)"
            if args.baseline == "starlette"
            else "raw ASGI + msgspec on the same SQL"
        ),
    ]
    for rep in reports:
        base, pat = rep.results.get("baseline", {}), rep.results.get("patrons", {})
        lines += [
            "",
            f"[{rep.kind}] Patrons at {rep.src}"
            + (f" with {' '.join(args.patrons_env)}" if args.patrons_env else ""),
            f"  deep cursor = created_at of customer #{args.deep:,} = {rep.cursor}",
            f"  {'scenario':56}{'server':10}{'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  "
            f"{'errors':>7}  {'other CPU':>9}",
        ]
        for key, label in rep.labels.items():
            for name, res in (("baseline", base), ("patrons", pat)):
                if key in res:
                    lines.append(f"  {label:56}{name:10}{_fmt(res[key])}")
        lines.append("  ratios")
        c = args.connections
        wanted = [
            # (text, (server, key, field) numerator, denominator, goal)
            ("Patrons GET-by-id req/s ÷ baseline GET-by-id req/s",
             ("patrons", "get", "rps"), ("baseline", "get", "rps"), GOAL_GET_RATIO),
            (f"Patrons deep-page p50 ÷ page-1 p50 ({c} connections)",
             ("patrons", "deep", "p50_ms"), ("patrons", "page1", "p50_ms"), -GOAL_DEEP_RATIO),
            ("Patrons deep-page p50 ÷ page-1 p50 (1 connection, unloaded)",
             ("patrons", "deep_c1", "p50_ms"), ("patrons", "page1_c1", "p50_ms"), -GOAL_DEEP_RATIO),
            (f"baseline deep-page p50 ÷ page-1 p50 ({c} connections)",
             ("baseline", "deep", "p50_ms"), ("baseline", "page1", "p50_ms"), None),
            ("Patrons list page-1 req/s ÷ baseline list page-1 req/s",
             ("patrons", "page1", "rps"), ("baseline", "page1", "rps"), None),
            ("Patrons list page-1 (limit=100) req/s ÷ baseline"
             + ("" if rep.kind == "sqlite" else " (goal is SQLite's)"),
             ("patrons", "page100", "rps"), ("baseline", "page100", "rps"),
             GOAL_LIST_RATIO if rep.kind == "sqlite" else None),
            ("Patrons GET-by-source_id req/s ÷ baseline",
             ("patrons", "get_sid", "rps"), ("baseline", "get_sid", "rps"), GOAL_GET_RATIO),
            ("Patrons POST create req/s ÷ baseline single INSERT req/s",
             ("patrons", "post", "rps"), ("baseline", "post", "rps"), GOAL_WRITE_RATIO),
            ("Patrons PUT req/s ÷ baseline single UPDATE req/s",
             ("patrons", "put", "rps"), ("baseline", "put", "rps"), GOAL_WRITE_RATIO),
            ("Patrons POST req/s ÷ Patrons GET-by-id req/s",
             ("patrons", "post", "rps"), ("patrons", "get", "rps"), None),
        ]  # fmt: skip
        for text, num, den, goal in wanted:
            a = rep.results.get(num[0], {}).get(num[1])
            b = rep.results.get(den[0], {}).get(den[1])
            if a is not None and b is not None:
                lines.append(_ratio(text, getattr(a, num[2]), getattr(b, den[2]), goal))
        if any(r.foreign_cores > NOISY for res in rep.results.values() for r in res.values()):
            lines.append(
                f"  * other processes used more than {NOISY} cores of CPU during this measurement"
                " (another job on the box): treat it as skewed"
            )
        for title, text in rep.profiles.items():
            lines += ["", f"  profile: {title}", text]
    lines.append("=" * 100)
    return "\n".join(lines)


def _save(reports: list[DbReport], args: argparse.Namespace) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {
        "args": vars(args),
        "cpus": os.cpu_count(),
        "reports": [
            {
                **{k: v for k, v in asdict(r).items() if k != "results"},
                "results": {
                    server: {key: {**asdict(res), "rps": res.rps} for key, res in by_key.items()}
                    for server, by_key in r.results.items()
                },
            }
            for r in reports
        ],
    }
    path.write_text(json.dumps(payload, indent=2))
    return path


def _importable(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if harness.wrk_path() is None:
        print(harness.WRK_HELP, file=sys.stderr)
        return 2
    if args.profile and pyspy.pyspy_path() is None:
        print("--profile needs py-spy:  .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    if args.baseline == "starlette" and not _importable("starlette", "orjson"):
        print("--baseline starlette needs: .venv/bin/pip install starlette orjson", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds:
        problem = seed.postgres_problem(args.pg_admin_url)
        if problem is not None:
            if args.db == "postgresql":
                print(f"PostgreSQL unreachable at {args.pg_admin_url}: {problem}", file=sys.stderr)
                return 2
            print(f"skipping PostgreSQL (unreachable at {args.pg_admin_url}: {problem})")
            kinds.remove("postgresql")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)  # so every `finally` below runs
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    print(f"load generator: {wrk_version.splitlines()[0] if wrk_version else 'wrk'}")
    work = Path(tempfile.mkdtemp(prefix="patrons-bench-run-"))
    reports: list[DbReport] = []
    failed = False
    try:
        for kind in kinds:
            bench = DbBench(args, kind, work)
            try:
                bench.run()
            except Exception:
                failed = True
                traceback.print_exc()
                print(f"[{kind}] FAILED; its partial results follow", file=sys.stderr)
            if bench.report is not None:
                reports.append(bench.report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(render(reports, args))
    if not args.no_save and reports:
        print(f"results saved to {_save(reports, args).relative_to(HERE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, scratch data removed", file=sys.stderr)
        sys.exit(130)
