"""Server subprocesses (start, wait until ready, stop) and the load generator (wrk + Lua)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"  # load only ever targets the loopback interface
WRK_HELP = (
    "wrk is needed as the load generator and was not found on PATH.\n"
    "Install it with:  sudo apt-get install -y wrk   (Debian/Ubuntu)\n"
    "             or:  brew install wrk              (macOS)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    # Linux: if the benchmark itself is killed, its servers get SIGTERM instead of lingering.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Server:
    """One server process (and its granian workers) in its own process group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*argv, "--host", HOST, "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, headers: dict[str, str], timeout: float = 60.0) -> None:
        """Until `GET path` answers 200 (the database is open and the data is there)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                status, _ = http_get(self.base + path, headers, timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready after {timeout:.0f}s ({last}):\n{self.log_tail()}"
        )

    def worker_pids(self) -> list[int]:
        """The server's descendants (granian's worker processes)."""
        return sorted(_tree(_process_ticks(), self.process.pid) - {self.process.pid})

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        # granian workers left behind by an unclean exit share the process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def http_get(
    url: str, headers: dict[str, str], timeout: float = 10, body: bytes | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers=headers, method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# ------------------------------------------------------------------------ foreign CPU load

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Process names that belong to a measurement besides the server's own tree.
OURS = ("wrk", "postgres", *(f"ksoftirqd/{cpu}" for cpu in range(os.cpu_count() or 1)))


def _busy_ticks() -> int:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal …: time processes are charged for (the
    # loopback traffic's softirq time belongs to no process, so it is left out)
    return fields[0] + fields[1] + fields[2]


def _process_ticks() -> dict[int, tuple[str, int, int]]:
    """pid → (name, parent pid, user+system ticks) for every process."""
    table: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (name, int(rest[1]), int(rest[11]) + int(rest[12]))
    return table


class CpuWatch:
    """CPU used by everything that is not this measurement (server tree, wrk, PostgreSQL), in
    cores: another job on the box skews the numbers, and this says by how much."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.start()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = _busy_ticks()
        self.procs0 = _process_ticks()
        self.reaped0 = _reaped_children_seconds()

    def foreign_cores(self) -> float:
        busy, procs, seconds = _busy_ticks(), _process_ticks(), time.monotonic() - self.t0
        ours = _tree(procs, self.root_pid) | {os.getpid()}
        ours |= {pid for pid, (name, _, _) in procs.items() if name in OURS}
        used = sum(
            ticks - self.procs0.get(pid, (name, 0, 0))[2]
            for pid, (name, _, ticks) in procs.items()
            if pid in ours
        )
        used += (_reaped_children_seconds() - self.reaped0) * _TICK  # wrk, once it has exited
        return max(0.0, (busy - self.busy0 - used) / _TICK / max(seconds, 1e-3))


def _reaped_children_seconds() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _tree(procs: dict[int, tuple[str, int, int]], root: int) -> set[int]:
    found, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, (_, ppid, _) in procs.items() if ppid in frontier} - found
        found |= frontier
    return found


def wait_quiet(root_pid: int, *, limit: float, threshold: float = 0.25) -> float:
    """Wait (up to `limit` seconds) until other processes use under `threshold` cores for a
    second; returns the last reading."""
    deadline = time.monotonic() + limit
    while True:
        watch = CpuWatch(root_pid)
        time.sleep(1.0)
        load = watch.foreign_cores()
        if load < threshold or time.monotonic() >= deadline:
            return load


# ------------------------------------------------------------------------------------- wrk


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    foreign_cores: float = 0.0  # CPU other processes took during the measurement

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, math.floor(latency:percentile(50)),
    math.floor(latency:percentile(99)), math.floor(latency.mean), math.floor(latency.max),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_script(
    headers: dict[str, str],
    *,
    ids_file: Path | None = None,
    path_prefix: str = "",
    post_prefix: str | None = None,
    put: bool = False,
) -> str:
    """A wrk script: fixed headers; with `ids_file`, GET path_prefix + a random id per request
    (with `put`, PUT a new name and metadata to it); with `post_prefix`, POST /v1/customers
    with a new source_id per request; else a static GET."""
    lines = [f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items()]
    if ids_file is not None and put:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            "local ids = {}",
            f"for line in io.lines({_lua_str(str(ids_file))}) do ids[#ids + 1] = line end",
            "math.randomseed(os.time())",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            '  local body = \'{"name":"Renamed \' .. n .. \'","metadata":{"plan":"pro",'
            "\"lifetime_orders\":' .. n .. '}}'",
            f"  return wrk.format('PUT', {_lua_str(path_prefix)} .. ids[math.random(#ids)],"
            " nil, body)",
            "end",
        ]
    elif ids_file is not None:
        lines += [
            "local ids = {}",
            f"for line in io.lines({_lua_str(str(ids_file))}) do ids[#ids + 1] = line end",
            "math.randomseed(os.time())",
            "request = function()",
            f"  return wrk.format('GET', {_lua_str(path_prefix)} .. ids[math.random(#ids)])",
            "end",
        ]
    elif post_prefix is not None:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            # A fresh run id per wrk run: every run (warm-up, rounds, each server) creates.
            'local uuid = io.open("/proc/sys/kernel/random/uuid")',
            'local run = uuid:read("*l"):sub(1, 8) .. "-"',
            "uuid:close()",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            f"  local sid = {_lua_str(post_prefix)} .. run .. n",
            '  local body = \'{"source_id":"\' .. sid .. \'","name":"Bench Customer \' .. n'
            ' .. \'","email":"\' .. sid .. \'@example.com","address":{"city":"Warsaw",'
            '"country":"PL"},"metadata":{"plan":"pro","lifetime_orders":3}}\'',
            "  return wrk.format('POST', '/v1/customers', nil, body)",
            "end",
        ]
    return "\n".join(lines) + "\n" + _DONE


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    server_pid: int | None = None,
    timeout_s: int = 10,
) -> Result:
    wrk = wrk_path()
    assert wrk is not None
    argv = [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s", "-s", str(script), url,
    ]  # fmt: skip
    watch = CpuWatch(server_pid or os.getpid())
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    foreign = watch.foreign_cores()
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            req, dur_us, p50, p99, mean, mx, status, sock = (int(x) for x in line.split()[1:])
            return Result(
                requests=req,
                seconds=dur_us / 1e6,
                p50_ms=p50 / 1000,
                p99_ms=p99 / 1000,
                mean_ms=mean / 1000,
                max_ms=mx / 1000,
                non_2xx=status,
                socket_errors=sock,
                foreign_cores=foreign,
            )
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}{done.stderr}")
