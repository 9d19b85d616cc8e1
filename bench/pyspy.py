"""Optional profiling (`run.py --profile`): py-spy samples a server's worker under load, then the
collapsed stacks of its MainThread — the thread that runs the event loop, and so every line of
application code, and SQLite queries — are summarised by layer (granian, asyncio, Litestar,
Patrons' packages, the driver, msgspec …) and by function: where a request's CPU time goes.

Other threads (granian's Rust runtime, its monitor, the to_thread pool) are left out: py-spy
counts some of them busy while they wait, and the event-loop thread is the bottleneck of a
one-worker server (it ran at ~100% CPU in every measurement here).

py-spy is not a dependency of Patrons: `.venv/bin/pip install py-spy` to use this.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# First match wins; matched against py-spy's "function (file:line)" frame text.
LAYERS = (
    ("patrons/api/", "patrons.api (gateway, deps, errors)"),
    ("patrons/customers/", "patrons.customers (router, service, repository)"),
    ("patrons/projects/", "patrons.projects (auth)"),
    ("patrons/db/", "patrons.db (driver surface)"),
    ("patrons/core/", "patrons.core"),
    ("baseline_app", "baseline app"),
    ("litestar/", "litestar"),
    ("anyio/", "anyio + sniffio (Litestar's dependency TaskGroup)"),
    ("sniffio/", "anyio + sniffio (Litestar's dependency TaskGroup)"),
    ("msgspec", "msgspec"),
    ("asyncpg/", "asyncpg"),
    ("sqlite3", "sqlite3"),
    ("granian/", "granian (Python side)"),
    ("asyncio/", "asyncio event loop"),
)


# Milestones on a request's path: the share of samples whose stack passes through any of the
# frames named (matched as substrings of "function (file)").
MILESTONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("granian hands the request to the app", ("future_watcher (granian/",)),
    ("Patrons Gateway (request id, auth, then Litestar)", ("Gateway.__call__ (patrons/",)),
    ("Litestar app", ("Litestar.__call__ (litestar/app.py",)),
    ("Litestar dependency resolution (db, project)", ("KwargsModel.resolve_dependencies",)),
    ("anyio TaskGroup Litestar uses for 2+ dependencies (spawn, run, join)",
     ("(anyio/", "(sniffio/")),
    ("Patrons handler (router → service → repository)", ("(patrons/customers/router",)),
    ("  SQL on the driver", ("SqliteConn.", "(asyncpg/pool.py", "(asyncpg/connection.py")),
    ("  row → wire struct (service.to_wire)", ("to_wire (patrons/",)),
    ("  timestamp formatting (core.clock.format_ms)", ("format_ms (patrons/",)),
    ("  SQLite write transaction (lock, BEGIN/COMMIT)", ("SqliteDatabase.transaction",)),
    ("Litestar response (to_response: encode + headers)", ("to_response (litestar/",)),
)  # fmt: skip
BASELINE_MILESTONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("granian hands the request to the app", ("future_watcher (granian/",)),
    ("baseline app", ("create_app.<locals>.app (baseline_app",)),
    ("  SQL on the driver", ("Lite.", "Pg.")),
    ("  response (msgspec encode + ASGI send)", ("_respond (baseline_app",)),
)


def pyspy_path() -> str | None:
    return shutil.which("py-spy") or (
        str(Path(sys.executable).parent / "py-spy")
        if (Path(sys.executable).parent / "py-spy").exists()
        else None
    )


RATE = 250  # samples per second


def start(pid: int, seconds: float, out: Path, rate: int = RATE) -> subprocess.Popen[bytes]:
    exe = pyspy_path()
    assert exe is not None
    argv = [
        exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", str(rate), "--format", "raw", "--output", str(out), "--threads",
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def layer_of(frame: str) -> str:
    for needle, name in LAYERS:
        if needle in frame:
            return name
    return "other (stdlib, …)"


def _short(frame: str) -> str:
    # "handle (litestar/routes/http.py:123)" → "handle (litestar/routes/http.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name


def summarize(
    raw: Path, *, top: int = 25, seconds: float = 0, rate: int = 0, baseline: bool = False
) -> str:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text(errors="replace").splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        frames = body.split(";")
        if frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            if "MainThread" not in frames[0]:
                continue
            frames = frames[1:]
        if frames:
            stacks.append(([_short(f) for f in frames], int(count)))
    total = sum(c for _, c in stacks)
    if not total:
        return "  (no samples: was the worker busy?)"
    busy = f", {100 * total / (seconds * rate):.0f}% of wall time" if seconds and rate else ""
    self_layer: Counter[str] = Counter()
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    for frames, count in stacks:
        self_layer[layer_of(frames[-1])] += count
        self_fn[frames[-1]] += count
        for fn in set(frames):
            incl_fn[fn] += count

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    out = [f"  {total} samples of the busy MainThread (event loop){busy}"]
    out.append("  self time by layer (where the leaf frame is):")
    out += [f"    {pct(n)}  {name}" for name, n in self_layer.most_common()]
    out.append("  request path (share of samples passing through):")
    for label, needles in BASELINE_MILESTONES if baseline else MILESTONES:
        hits = sum(
            count for frames, count in stacks if any(n in f for f in frames for n in needles)
        )
        if hits:
            out.append(f"    {pct(hits)}  {label}")
    out.append(f"  top {top} functions by self time:")
    out += [f"    {pct(n)}  {fn}" for fn, n in self_fn.most_common(top)]
    out.append(f"  top {top} functions by inclusive time (below the event loop):")
    below = [(fn, n) for fn, n in incl_fn.most_common() if n < 0.97 * total]
    out += [f"    {pct(n)}  {fn}" for fn, n in below[:top]]
    return "\n".join(out)
