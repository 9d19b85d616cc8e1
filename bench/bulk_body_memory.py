"""Hand-run benchmark: memory of a bulk JSON body at the configured limit (issue #14, point 7).

    .venv/bin/python bench/bulk_body_memory.py                   # 10 MiB and 100 MiB bodies
    .venv/bin/python bench/bulk_body_memory.py --mib 10 --mib 50

For each size: `patrons serve` on a scratch SQLite file (embedded worker off, so only the
request is measured), PATRONS_MAX_BODY_BYTES = the body size, then one
POST /v1/customers/bulk/async of tiny items (`{"source_id":"b-0000001"}`, the worst case: the
most items per byte). VmRSS of every process of the server is sampled every 2 ms from before
the upload until its 202; the figure is the largest rise of one process over its idle RSS.

Baseline, same run, same body: the way it was done before streaming — the whole body read,
then `msgspec.json.decode(body, type=list[BulkItem])` and one JSON line per item — in a fresh
Python process, its VmRSS rise measured the same way. Goal: streamed rise ≤ ~50 MB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from import_csv import HOST, Proc, free_port, kib, tree

BASELINE = r"""
import os, sys, time, msgspec
from patrons.customers.jobs import BulkItem
def rss():
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
idle = rss()
body = sys.stdin.buffer.read()
items = msgspec.json.decode(body, type=list[BulkItem])
lines = b"\n".join([b'"bulk"', *(msgspec.json.encode(i) for i in items)]) + b"\n"
peak = rss()
print(peak - idle, len(items))
"""


def body_of(size: int) -> tuple[bytes, int]:
    items, n, total = [], 0, 2
    while True:
        item = b'{"source_id":"b-%07d"}' % n
        if total + len(item) + 1 > size:
            break
        items.append(item)
        total += len(item) + 1
        n += 1
    return b"[" + b",".join(items) + b"]", n


class Sampler(threading.Thread):
    def __init__(self, pids: set[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.idle = {pid: kib(pid, "VmRSS") for pid in pids}
        self.peak = dict(self.idle)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.002):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], kib(pid, "VmRSS"))

    def rise_mb(self) -> float:
        return max(self.peak[p] - self.idle[p] for p in self.pids) / 1024


def measure(mib: int, folder: Path) -> tuple[float, float, int, float]:
    size = mib << 20
    body, n = body_of(size)
    app_id, token = "bench-app", "bench-" + secrets.token_hex(16)
    env = {
        **os.environ,
        "PATRONS_DATABASE_URL": f"sqlite:///{folder / f'mem{mib}.db'}",
        "PATRONS_APP_ID": app_id,
        "PATRONS_APP_TOKEN": token,
        "PATRONS_EMBEDDED_WORKER": "0",
        "PATRONS_MAX_BODY_BYTES": str(size),
        "PATRONS_ACCESS_LOG": "0",
    }
    port = free_port()
    api = Proc(
        [sys.executable, "-m", "patrons", "serve", "--host", HOST, "--port", str(port)],
        env,
        folder / f"serve{mib}.log",
    )
    try:
        headers = {"X-App-Id": app_id, "X-App-Token": token}
        with httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=600) as c:
            for _ in range(300):
                try:
                    if c.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            c.post("/v1/customers/bulk/async", json=[{"source_id": "warm-up"}])
            time.sleep(1.0)
            sampler = Sampler(tree(api.p.pid))
            sampler.start()
            t0 = time.perf_counter()
            response = c.post(
                "/v1/customers/bulk/async",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            seconds = time.perf_counter() - t0
            sampler.done.set()
            sampler.join()
            assert response.status_code == 202, response.text[:300]
    finally:
        api.stop()
    base = subprocess.run(
        [sys.executable, "-c", BASELINE], input=body, capture_output=True, check=True
    )
    base_kib, base_items = (int(x) for x in base.stdout.split())
    assert base_items == n
    return sampler.rise_mb(), base_kib / 1024, n, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, action="append", help="body size(s) in MiB")
    args = parser.parse_args()
    sizes = args.mib or [10, 100]
    with tempfile.TemporaryDirectory(prefix="patrons-mem-") as tmp:
        print(
            f"{'body':>8} {'items':>9} {'streamed rise':>14} {'whole-body rise':>16} {'ratio':>6}"
        )
        for mib in sizes:
            streamed, whole, n, seconds = measure(mib, Path(tmp))
            print(
                f"{mib:>5} MiB {n:>9,} {streamed:>11.1f} MB {whole:>13.1f} MB"
                f" {streamed / whole:>6.2f}   (upload → 202 in {seconds:.1f} s)"
            )


if __name__ == "__main__":
    main()
