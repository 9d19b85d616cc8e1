"""A real HTTP receiver on 127.0.0.1 for webhook tests: it answers each POST as scripted
(a status code, or "timeout": hold the request longer than the server's timeout) and records
every request it got (arrival time, headers, raw body, what it answered)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    answered: int | str

    @property
    def event(self) -> dict[str, Any]:
        return msgspec.json.decode(self.body)


class Receiver:
    def __init__(self, script: list[int | str] | None = None, *, then: int = 200) -> None:
        self.script = list(script or [])  # answers for the first requests, in order
        self.then = then  # the answer once the script is used up
        self.hold_seconds = 3.0  # "timeout": longer than the test servers' 1 s timeout
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    answer = receiver.script.pop(0) if receiver.script else receiver.then
                    receiver.received.append(
                        Received(time.monotonic(), dict(self.headers.items()), body, answer)
                    )
                if answer == "timeout":
                    time.sleep(receiver.hold_seconds)
                    answer = 200  # too late: the sender has given up
                try:
                    self.send_response(int(answer))
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender hung up (it timed out)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set_script(self, script: list[int | str], then: int = 200) -> None:
        with self._lock:
            self.script = list(script)
            self.then = then

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(
        self, condition: Callable[[list[Received]], bool], *, timeout: float = 30.0
    ) -> list[Received]:
        """The requests once `condition` holds for them; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests()
            if condition(got):
                return got
            time.sleep(0.02)
        got = self.requests()
        raise AssertionError(f"condition not met in {timeout} s; received {len(got)}: {got}")
