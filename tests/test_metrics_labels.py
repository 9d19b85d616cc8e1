"""/metrics: refused calls and idempotent replays carry their route template, and the numbers
of `patrons serve --workers N` are the sum over every API process (multiprocess mode)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

import httpx

from tests.conftest import _free_port, _wait_ready


def series(text: str, method: str, route: str, status: int) -> float:
    pattern = (
        r"^patrons_http_requests_total\{"
        rf'method="{re.escape(method)}",route="{re.escape(route)}",status="{status}"'
        r"\} (\S+)$"
    )
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def wait_for(client: httpx.Client, method: str, route: str, status: int, value: float) -> float:
    """The series' value once it reaches `value` (counted after the answer is sent)."""
    deadline = time.monotonic() + 5
    while True:
        seen = series(client.get("/metrics").text, method, route, status)
        if seen >= value or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_refused_calls_are_labelled_with_their_route(anon) -> None:
    route = "/v1/customers/{customer_id}"
    before = series(anon.get("/metrics").text, "GET", route, 401)
    bad = {"X-App-Id": "nobody", "X-App-Token": "wrong"}
    for _ in range(3):
        assert anon.get("/v1/customers/someone", headers=bad).status_code == 401
    assert wait_for(anon, "GET", route, 401, before + 3) == before + 3
    assert wait_for(anon, "GET", "/v1/segments/{segment_id}", 401, 0) == 0
    anon.get("/v1/segments/seg_x", headers=bad)
    assert wait_for(anon, "GET", "/v1/segments/{segment_id}", 401, 1) >= 1


def test_idempotent_replays_are_labelled_with_their_route(api, anon) -> None:
    before = series(anon.get("/metrics").text, "POST", "/v1/customers", 200)
    unmatched = series(anon.get("/metrics").text, "POST", "unmatched", 200)
    headers = {"Idempotency-Key": "metrics-" + secrets.token_hex(4)}
    body = {"source_id": "replayed-" + secrets.token_hex(4)}
    first = api.post("/v1/customers", json=body, headers=headers)
    again = api.post("/v1/customers", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert wait_for(anon, "POST", "/v1/customers", 200, before + 2) == before + 2
    assert series(anon.get("/metrics").text, "POST", "unmatched", 200) == unmatched


def test_metrics_are_summed_over_every_process_of_serve_workers(backend, tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "PATRONS_DATABASE_URL": backend.url, "PATRONS_EMBEDDED_WORKER": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "patrons", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log)
        bad = {"X-App-Id": "nobody", "X-App-Token": "wrong"}
        sent = 0
        for _ in range(20):  # a fresh connection each: granian spreads them over its workers
            sent += httpx.get(f"{base}/v1/segments", headers=bad).status_code == 401
        assert sent == 20
        route = "/v1/segments"
        with httpx.Client(base_url=base) as first:
            assert wait_for(first, "GET", route, 401, 20) == 20, log.read_text()
        readings = set()
        for _ in range(8):  # any process answers the scrape: each reports the sum
            text = httpx.get(f"{base}/metrics").text
            readings.add(series(text, "GET", route, 401))
        assert readings == {20.0}
        pids = {int(m) for m in re.findall(r"Spawning worker-\d+ with PID: (\d+)", log.read_text())}
        assert len(pids) == 2, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)
