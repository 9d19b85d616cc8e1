"""Metrics (Prometheus) and one structured log line per request.

Labels use the route *template* (`/v1/customers/{customer_id}`), never the raw path: paths
carry source_ids, which are often e-mail addresses. Nothing here sees tokens or bodies.
`patrons serve --workers N` (N > 1) sets PROMETHEUS_MULTIPROC_DIR to a fresh directory per run:
every API process then keeps its metrics in files there (prometheus-client's multiprocess
mode) and /metrics on any process reports the sum over all of them. One process keeps them in
memory (cheaper). Separate `patrons worker` processes keep their own.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import traceback
from bisect import bisect_left
from typing import Any

import msgspec
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "patrons_http_requests_total",
    "HTTP requests by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LATENCY = Histogram(
    "patrons_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ("method", "route"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
# Gauges say how processes combine under multiprocess mode (ignored in one process): the queue
# is read from the database at each scrape (the latest reading is right), pools add up.
QUEUE = Gauge(
    "patrons_async_actions",
    "Async actions by status.",
    ("status",),
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
JOB_SECONDS = Histogram(
    "patrons_job_chunk_duration_seconds",
    "Time to process one job chunk, by job type.",
    ("type",),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
JOB_ROWS = Counter(
    "patrons_job_rows_total",
    "Rows processed by job workers, by job type and outcome.",
    ("type", "outcome"),
    registry=REGISTRY,
)
POOL = Gauge(
    "patrons_db_pool_connections",
    "Database pool connections by state (PostgreSQL; SQLite uses one connection).",
    ("state",),
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def start_process_metrics() -> None:
    """In an API process of a multi-process run: keep this process's metrics in the shared
    directory. prometheus-client picks its value class when first imported; if that happened
    before the variable was set, switch now (metric children are made on first use, later)."""
    global _deferred
    _deferred = multiprocess_dir() is None
    if _deferred:
        return
    if getattr(values.ValueClass, "__name__", "") != "MmapedValue":
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _tallies.clear()


def stop_process_metrics() -> None:
    """A stopping API process drops its live gauges (its counters keep counting in the sum)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


access_log = logging.getLogger("patrons.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry).decode()

    def formatException(self, ei: Any) -> str:
        return scrubbed_traceback(ei)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # another handler may have cached the unscrubbed text
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        return scrubbed_traceback(ei)


def scrubbed_traceback(ei: Any) -> str:
    """A traceback without exception *messages*: frames (code) and exception types only.

    Messages may quote data — a driver's error can carry the value that broke a constraint,
    a KeyError its key — and logs cannot be erased by a permanent deletion, so only the type
    names and where they were raised are written (the request id ties it to the request).
    """
    _, exc, _ = ei
    lines: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = traceback.format_tb(exc.__traceback__)
        lines[:0] = ["Traceback (most recent call last):\n", *frames, f"{type(exc).__qualname__}\n"]
        following = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if following is not None:
            lines[:0] = ["\n(while handling:)\n"]
        exc = following
    return "".join(lines).rstrip("\n")


_access_json = True


def configure_logging(level: str, fmt: str) -> None:
    """Patrons' loggers write to stderr, as JSON lines (default) or plain text."""
    global _access_json
    _access_json = fmt == "json"
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("patrons")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


# Per (method, route, status): the metric children (`labels()` hashes and validates its
# arguments on every call, which showed up in the GET-by-id profile), the access line's fixed
# middle, and — in one process — the requests counted since the last flush. The set of keys
# stays small.
class _Tally:
    __slots__ = ("buckets", "count", "counter", "histogram", "middle", "total")

    def __init__(self, method: str, route: str, status: int) -> None:
        self.counter = REQUESTS.labels(method, route, str(status))
        self.histogram = LATENCY.labels(method, route)
        fixed: dict[str, Any] = {"level": "info", "logger": access_log.name, "msg": "request"}
        fixed.update(method=method, route=route, status=status)
        # `{"level":…,"status":200` → `,"level":…,"status":200,"duration_ms":`
        self.middle = b"," + msgspec.json.encode(fixed)[1:-1] + b',"duration_ms":'
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)

    def flush(self) -> None:
        """Hand what was counted to prometheus-client (what `observe` would have done)."""
        if not self.count:
            return
        self.counter.inc(self.count)
        self.histogram._sum.inc(self.total)
        for i, n in enumerate(self.buckets):
            if n:
                self.histogram._buckets[i].inc(n)
                self.buckets[i] = 0
        self.count = 0
        self.total = 0.0


_tallies: dict[tuple[str, str, int], _Tally] = {}
_BOUNDS = (*LATENCY_BUCKETS, math.inf)  # a histogram counts a value in the first bound >= it
# One process (no PROMETHEUS_MULTIPROC_DIR): requests are counted in `_tallies` and handed to
# the metrics at each flush (every FLUSH_SECONDS, and before /metrics renders) — two metric
# updates per request (locks, bucket search) cost more than the request's routing. Under
# `--workers N` another process renders the sum, so each request updates the files at once.
_deferred = multiprocess_dir() is None


def flush_metrics() -> None:
    for tally in _tallies.values():
        tally.flush()


# Access lines are written in batches: one write(2) per line (stderr is line-buffered) cost a
# fifth of the GET-by-id CPU. A batch goes out when it holds FLUSH_LINES lines or is
# FLUSH_SECONDS old, and the API's lifespan flushes every FLUSH_SECONDS and at shutdown, so a
# line is at most that late and none is lost on a clean stop.
FLUSH_LINES = 256
FLUSH_SECONDS = 0.05
_pending: list[bytes] = []
_last_flush = 0.0


def flush_access_log() -> None:
    """Write the pending access lines (and hand the counted requests to the metrics)."""
    global _last_flush
    _last_flush = time.monotonic()
    if _deferred:
        flush_metrics()
    if not _pending:
        return
    data = b"".join(_pending)
    _pending.clear()
    try:
        sys.stderr.flush()
        sys.stderr.buffer.write(data)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed or replaced: drop the batch
        pass


def observe(
    method: str, route: str, status: int, seconds: float, request_id: str, log: bool
) -> None:
    key = (method, route, status)
    tally = _tallies.get(key)
    if tally is None:
        if len(_tallies) > 10_000:
            flush_metrics()
            _tallies.clear()
        tally = _tallies[key] = _Tally(method, route, status)
    if _deferred:
        tally.count += 1
        tally.total += seconds
        tally.buckets[bisect_left(_BOUNDS, seconds)] += 1
    else:
        tally.counter.inc()
        tally.histogram.observe(seconds)
    if log and access_log.isEnabledFor(logging.INFO):
        if _access_json:
            # Straight to stderr: the logging machinery cost more than the request's SQL
            # (py-spy on the bench). The line has the shape JsonFormatter writes (ts, level,
            # logger, msg, then the fields), its fixed middle encoded once per key.
            # %-formatting, not an encoder call per value: request ids are `v-` + hex, so
            # they need no escaping; numbers keep three decimals as the formatter's do.
            _pending.append(
                b'{"ts":%.3f%b%.3f,"request_id":"%b"}\n'
                % (time.time(), tally.middle, seconds * 1000, request_id.encode())
            )
            if len(_pending) >= FLUSH_LINES or time.monotonic() - _last_flush >= FLUSH_SECONDS:
                flush_access_log()
        else:
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "request_id": request_id,
            }
            access_log.info("request", extra={"fields": fields})


def render(pool: Any | None, queue: dict[str, int]) -> bytes:
    flush_metrics()
    for status in ("ENQUEUED", "IN_PROGRESS", "DONE", "FAILED"):
        QUEUE.labels(status).set(queue.get(status, 0))
    if pool is not None:
        size, idle = pool.get_size(), pool.get_idle_size()
        POOL.labels("open").set(size)
        POOL.labels("idle").set(idle)
        POOL.labels("in_use").set(size - idle)
    if multiprocess_dir() is not None:
        every_process = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_process)  # type: ignore[no-untyped-call]
        return generate_latest(every_process)
    return generate_latest(REGISTRY)


def now() -> float:
    return time.perf_counter()
