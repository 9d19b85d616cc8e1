"""Hand-run benchmark: does the API keep answering while the embedded worker imports a big CSV?

    .venv/bin/python bench/import_latency.py                         # both databases, 100k rows
    .venv/bin/python bench/import_latency.py --db sqlite --rows 1000000

Per database: a scratch database and ONE `patrons serve` with its embedded worker (the default
set-up, PATRONS_EMBEDDED_WORKER on), one seeded customer. A probe thread calls `GET /health`
and `GET /v1/customers/{id}` back to back (one client, no think time) — first for
`--idle-seconds` with nothing else running (the idle baseline), then from the upload until
the import is DONE. Printed, from the same run: p50 / p99 / max of each call idle and during
the import (while the job ran, i.e. between the 202 and DONE), their ratio, the progress
values the API reported while the job ran, and on SQLite the peak size of the WAL file
(sampled every 0.1 s). Goals (issue #14): no /health over 250 ms during a 100k import;
/health and GET-by-id p99 under 50 ms during a 1M import; WAL under 128 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from import_csv import (
    HOST,
    Probe,
    Proc,
    Scratch,
    code_version,
    free_port,
    wait_ready,
    write_csv,
)


class WalWatch(threading.Thread):
    def __init__(self, wal: Path | None) -> None:
        super().__init__(daemon=True)
        self.wal, self.peak = wal, 0
        self.where = "before the upload"  # what the run was doing (set by the main thread)
        self.peak_where = ""
        self.done = threading.Event()

    def run(self) -> None:
        while self.wal is not None and not self.done.wait(0.1):
            with contextlib.suppress(OSError):
                size = self.wal.stat().st_size
                if size > self.peak:
                    self.peak, self.peak_where = size, self.where


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99, max in milliseconds."""
    if not values:
        return (float("nan"),) * 3
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e3, p99 * 1e3, ordered[-1] * 1e3


def run(args: argparse.Namespace, kind: str, csv_path: Path) -> dict[str, Any]:
    scratch = Scratch(kind, args.pg_admin_url)
    api: Proc | None = None
    try:
        url = scratch.new("patrons")
        app_id, app_token = "bench-app", "bench-" + secrets.token_hex(16)
        env = {
            **os.environ,
            "PATRONS_DATABASE_URL": url,
            "PATRONS_APP_ID": app_id,
            "PATRONS_APP_TOKEN": app_token,
            "PATRONS_ACCESS_LOG": "0",
            "PATRONS_MAX_BODY_BYTES": str(csv_path.stat().st_size + (16 << 20)),
        }
        env.pop("PATRONS_EMBEDDED_WORKER", None)  # the default: the API runs the jobs
        if args.chunk_rows:
            env["PATRONS_WORKER_CHUNK_ROWS"] = str(args.chunk_rows)
        port = free_port()
        argv = [sys.executable, "-m", "patrons", "serve", "--host", HOST, "--port", str(port)]
        api = Proc(argv, env, scratch.folder / "serve.log")
        headers = {"X-App-Id": app_id, "X-App-Token": app_token}
        base = f"http://{HOST}:{port}"
        wal = Path(url.split("sqlite:///", 1)[1] + "-wal") if kind == "sqlite" else None
        with httpx.Client(base_url=base, headers=headers, timeout=None) as client:
            wait_ready(client, api)
            seed = client.post("/v1/customers", json={"source_id": "probe", "name": "Probe"})
            probe = Probe(base, headers, seed.json()["id"], 0)  # 0: back to back
            walwatch = WalWatch(wal)
            walwatch.start()
            probe.start()
            time.sleep(args.idle_seconds)
            probe.phase = "upload"
            walwatch.where = "during the upload"
            t0 = time.perf_counter()
            with csv_path.open("rb") as f:
                response = client.post(
                    "/v1/customers/importCSV", files={"file": (csv_path.name, f, "text/csv")}
                )
            upload_s = time.perf_counter() - t0
            wal_at_202 = walwatch.peak  # the stored upload is one transaction in the WAL
            if response.status_code != 202:
                raise RuntimeError(f"upload: HTTP {response.status_code} {response.text[:300]}")
            action_id = response.json()["async_action_id"]
            probe.phase = "job"
            progress: list[int] = []
            while True:
                action = client.get(f"/v1/async-actions/{action_id}").json()
                if action["status"] in ("DONE", "FAILED"):
                    break
                if action["status"] == "IN_PROGRESS":
                    progress.append(action["progress"])
                walwatch.where = f"{action['status']} at {action['progress']}%"
                if time.perf_counter() - t0 > args.timeout:
                    raise RuntimeError(f"import not done after {args.timeout:.0f}s")
                time.sleep(0.25)
            import_s = time.perf_counter() - t0
            probe.phase = "after"
            probe.done.set()
            walwatch.done.set()
            probe.join()
            walwatch.join()
        result = action.get("result") or {}
        by = {
            (phase, name): [s for p, n, s in probe.samples if (p, n) == (phase, name)]
            for phase in ("idle", "job")
            for name in ("health", "get")
        }
        return {
            "kind": kind,
            "status": action["status"],
            "done": result.get("done_count"),
            "upload_s": upload_s,
            "import_s": import_s,
            "progress": sorted(set(progress)),
            "wal_peak": walwatch.peak,
            "wal_at_202": wal_at_202,
            "wal_peak_where": walwatch.peak_where,
            "errors": probe.errors,
            "by": by,
        }
    except BaseException:
        if api is not None:
            print(f"--- serve.log\n{api.tail()}", file=sys.stderr)
        raise
    finally:
        if api is not None:
            api.stop()
        scratch.close()


def report(out: dict[str, Any], rows: int) -> None:
    print(
        f"\n[{out['kind']}] {rows:,} rows: {out['status']} (done {out['done']}), upload"
        f" {out['upload_s']:.1f}s, import {out['import_s']:.1f}s (upload start → DONE seen);"
        f" probe errors {out['errors']}"
    )
    print(f"  {'call':<8}{'phase':<7}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name in ("health", "get"):
        idle = quantiles(out["by"][("idle", name)])
        job = quantiles(out["by"][("job", name)])
        for phase, q in (("idle", idle), ("job", job)):
            n = len(out["by"][(phase, name)])
            print(f"  {name:<8}{phase:<7}{n:>7}{q[0]:>9.1f}{q[1]:>9.1f}{q[2]:>9.1f}")
        print(
            f"  {name:<8}ratio job/idle: p50 {job[0] / idle[0]:.1f}x, p99 {job[1] / idle[1]:.1f}x"
        )
    progress = out["progress"]
    shown = progress if len(progress) <= 12 else [*progress[:6], "…", *progress[-5:]]
    print(f"  progress values seen while IN_PROGRESS ({len(progress)} distinct): {shown}")
    if out["kind"] == "sqlite":
        print(
            f"  SQLite WAL file peak: {out['wal_peak'] / 1e6:,.1f} MB"
            f" ({out['wal_peak_where']}; by the 202: {out['wal_at_202'] / 1e6:,.1f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    print(f"code: {code_version()}")
    folder = Path(tempfile.mkdtemp(prefix="patrons-import-latency-"))
    try:
        csv_path = folder / f"customers-{args.rows}.csv"
        write_csv(csv_path, args.rows)
        print(f"CSV: {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB")
        kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
        for kind in kinds:
            print(f"{kind}: importing with the embedded worker …", flush=True)
            report(run(args, kind, csv_path), args.rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
