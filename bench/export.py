"""Hand-run benchmark: a customer export of N customers through the API, against a raw
SELECT → csv.writer stream of the same rows through the same driver, in the same run (#18).

    .venv/bin/python bench/export.py                              # SQLite, 1,000,000 customers
    .venv/bin/python bench/export.py --db postgresql --customers 1000000
    .venv/bin/python bench/export.py --db both --customers 100000

Per database: a scratch database seeded by bench/seed.py (realistic customers, 70 % with
metadata), then

1. the baseline, in a child process (so its RSS is its own): one query for the same columns in
   the same order (`ORDER BY created_at, id`), iterated as a stream (sqlite3 cursor iteration;
   asyncpg server-side cursor, 5,000-row prefetch) and written with csv.writer to a file —
   the same cells Patrons writes (ISO timestamps, the metadata key); no escaping, no pieces;
2. `patrons serve` as shipped (embedded worker on, 5,000-row chunks): POST /v1/exports
   (fields id, source_id, name, email, created_at, metadata.plan), GET /v1/exports/{id} polled
   until DONE; then `result.url` downloaded with no keys, streamed to a file.

Printed: rows/s of each (export: POST → DONE seen), the download's MB/s, the peak RSS
(VmHWM) of the baseline child and of every process of the server tree (the API process hosts
the embedded worker), sampled RSS too, and the checks: the file has a header plus N lines and
every seeded customer id exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

import seed
from import_csv import HOST, Proc, RssWatch, free_port, kib, tree

FIELDS = ["id", "source_id", "name", "email", "created_at", "metadata.plan"]

# The baseline, run as `python bench/export.py --baseline URL PROJECT OUT`.
_BASELINE_SQL = (
    "SELECT id, source_id, name, email, created_at, metadata FROM customer"
    " WHERE project_id = $1 ORDER BY created_at, id"
)


def _baseline(url: str, project_id: str, out_path: str) -> None:
    import msgspec

    from patrons.core.clock import format_ms

    decode = msgspec.json.decode

    def cells(row: tuple) -> list:
        meta = decode(row[5]) if isinstance(row[5], str) else row[5]
        return [row[0], row[1], row[2], row[3], format_ms(row[4]), meta.get("plan")]

    started = time.perf_counter()
    n = 0
    with open(out_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(FIELDS)
        if url.startswith("sqlite:"):
            import sqlite3

            conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
            for row in conn.execute(_BASELINE_SQL.replace("$1", "?"), (project_id,)):
                writer.writerow(cells(row))
                n += 1
            conn.close()
        else:
            import asyncpg

            async def run() -> int:
                count = 0
                conn = await asyncpg.connect(url)
                try:
                    async with conn.transaction():
                        async for row in conn.cursor(_BASELINE_SQL, project_id, prefetch=5000):
                            writer.writerow(cells(tuple(row)))
                            count += 1
                finally:
                    await conn.close()
                return count

            n = asyncio.run(run())
    seconds = time.perf_counter() - started
    print(f"{n} {seconds:.3f} {kib(os.getpid(), 'VmHWM')}")


def run_baseline(url: str, project_id: str, out: Path) -> tuple[int, float, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--baseline", url, project_id, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows, seconds, hwm = done.stdout.split()
    return int(rows), float(seconds), int(hwm)


def run_export(seeded: seed.Seeded, folder: Path) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "PATRONS_DATABASE_URL": seeded.url,
        "PATRONS_ACCESS_LOG": "0",
    }
    env.pop("PATRONS_EMBEDDED_WORKER", None)  # the default: the API runs the jobs
    env.pop("PATRONS_WORKER_CHUNK_ROWS", None)
    argv = [sys.executable, "-m", "patrons", "serve", "--host", HOST, "--port", str(port)]
    api = Proc(argv, env, folder / "serve.log")
    base = f"http://{HOST}:{port}"
    headers = {"X-App-Id": seeded.app_id, "X-App-Token": seeded.app_token}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or api.p.poll() is not None:
                raise RuntimeError("server did not start:\n" + api.tail())
            time.sleep(0.2)
        time.sleep(1.0)  # let the granian worker settle before reading its idle RSS
        pids = tree(api.p.pid)
        idle = {pid: kib(pid, "VmRSS") for pid in pids}
        watch = RssWatch({"server": pids})
        watch.start()
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            started = time.perf_counter()
            created = client.post(
                "/v1/exports",
                json={"exported_object": "customer", "parameters": {"fields": FIELDS}},
            )
            created.raise_for_status()
            export_id = created.json()["id"]
            while True:
                body = client.get(f"/v1/exports/{export_id}").json()
                if body["status"] in ("DONE", "ERROR"):
                    break
                time.sleep(0.2)
            export_s = time.perf_counter() - started
        if body["status"] != "DONE":
            raise RuntimeError(f"export ended {body['status']}:\n{api.tail()}")
        out = folder / "export.csv"
        started = time.perf_counter()
        size = 0
        with (
            httpx.stream("GET", body["result"]["url"], timeout=600) as response,
            out.open("wb") as f,
        ):  # no API keys: the token in the URL is the credential
            response.raise_for_status()
            for data in response.iter_bytes(1 << 20):
                f.write(data)
                size += len(data)
        download_s = time.perf_counter() - started
        watch.done.set()
        watch.join()
        peaks = {pid: kib(pid, "VmHWM") for pid in pids}
        return {
            "export_s": export_s,
            "download_s": download_s,
            "bytes": size,
            "idle_kib": max(idle.values()),
            "peak_kib": max(peaks.values()),
            "sampled_kib": watch.peak["server"],
            "processes": len(pids),
            "path": str(out),  # type: ignore[dict-item]
        }
    finally:
        api.stop()


def check_file(path: Path, seeded: seed.Seeded) -> str:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        ids = [row[0] for row in reader]
    if header != FIELDS:
        return f"header {header}"
    if len(ids) != len(seeded.ids):
        return f"{len(ids)} rows for {len(seeded.ids)} customers"
    if len(set(ids)) != len(ids) or set(ids) != set(seeded.ids):
        return "ids differ from the seeded customers"
    return "ok"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline":
        _baseline(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        scratch = (
            seed.ScratchSqlite() if kind == "sqlite" else seed.ScratchPostgres(args.pg_admin_url)
        )
        folder = Path(tempfile.mkdtemp(prefix="patrons-export-bench-"))
        try:
            t0 = time.perf_counter()
            seeded = scratch.seed(args.customers)
            print(
                f"[{kind}] seeded {len(seeded.ids):,} customers in {time.perf_counter() - t0:.0f} s"
            )
            rows, base_s, base_hwm = run_baseline(seeded.url, seeded.project_id, folder / "b.csv")
            base_size = (folder / "b.csv").stat().st_size
            (folder / "b.csv").unlink()
            result = run_export(seeded, folder)
            n = len(seeded.ids)
            verdict = check_file(Path(str(result["path"])), seeded)
            with Path(str(result["path"])).open("rb") as f:
                lines = sum(1 for _ in f)
            print(
                f"[{kind}] baseline  SELECT+csv.writer: {rows:,} rows in {base_s:.1f} s ="
                f" {rows / base_s:,.0f} rows/s, {base_size / 1e6:.0f} MB, peak RSS"
                f" {base_hwm / 1024:.0f} MB"
            )
            print(
                f"[{kind}] patrons   export job:        {n:,} rows in {result['export_s']:.1f} s ="
                f" {n / result['export_s']:,.0f} rows/s ({result['export_s'] / base_s:.1f} x the"
                f" baseline's time)"
            )
            print(
                f"[{kind}] download  result.url:        {result['bytes'] / 1e6:.0f} MB in"
                f" {result['download_s']:.1f} s ="
                f" {result['bytes'] / 1e6 / result['download_s']:.0f} MB/s"
            )
            print(
                f"[{kind}] server    RSS: idle {result['idle_kib'] / 1024:.0f} MB, peak (VmHWM)"
                f" {result['peak_kib'] / 1024:.0f} MB, sampled peak"
                f" {result['sampled_kib'] / 1024:.0f} MB over {result['processes']:.0f} processes"
            )
            print(
                f"[{kind}] file      {lines:,} lines (header + rows);"
                f" every customer once: {verdict}"
            )
        finally:
            scratch.close()
            for p in folder.iterdir():
                p.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
