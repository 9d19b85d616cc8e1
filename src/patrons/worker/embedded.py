"""The API process's own job worker, on its own thread, event loop and database connections.

A job's chunk is CPU work (parsing, converting) and, on SQLite, synchronous driver calls; on
the API's event loop it would stall every request until the chunk ends. On a thread of its own
the API loop keeps answering: the interpreter switches threads every few milliseconds, sqlite3
releases the GIL inside SQLite, and SQLite writers of one process take turns through the
database's writer gate, which the API awaits without blocking its loop (db/database.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from patrons.async_actions.handlers import BackgroundService, JobHandler
from patrons.worker import runner

log = logging.getLogger("patrons.worker")
SWITCH_INTERVAL = 0.001  # seconds; see EmbeddedWorker.start
FULL_COLLECTION_EVERY = 100  # middle-generation collections; see EmbeddedWorker.start


class EmbeddedWorker:
    def __init__(
        self,
        url: str,
        *,
        handlers: Mapping[str, JobHandler[Any]],
        chunk_rows: int,
        lease_ms: int,
        poll: float,
        services: Sequence[BackgroundService] = (),
    ) -> None:
        self.url = url
        self.handlers = dict(handlers)
        self.services = tuple(services)
        self.chunk_rows = chunk_rows
        self.lease_ms = lease_ms
        self.poll = poll
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="patrons-worker", daemon=True)

    def start(self) -> None:
        # The API's thread waits for the interpreter lock while the worker's thread runs
        # Python (converting rows, binding parameters): up to the switch interval (5 ms by
        # default) each time, several times per request. 1 ms keeps requests' waits short.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        # A job's chunks live through many young collections, so the collector's full
        # passes (after 10 middle-generation passes by default) kept walking them and finding
        # nothing, each pause stopping the API's thread too: 46 pauses of up to 65 ms in a
        # 300k-row SQLite import, `/health` p99 53 ms. A full pass after 100: 29 ms.
        young, middle, full = gc.get_threshold()
        gc.set_threshold(young, middle, max(full, FULL_COLLECTION_EVERY))
        self._thread.start()
        self._ready.wait(timeout=30)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:
            log.exception("embedded worker crashed")
        finally:
            self._ready.set()

    async def _run(self) -> None:
        db = await runner.connect(self.url)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            worker = runner.Worker(
                db,
                handlers=self.handlers,
                chunk_rows=self.chunk_rows,
                lease_ms=self.lease_ms,
                poll=self.poll,
                services=self.services,
            )
            await worker.run(self._stop)
        finally:
            await db.close()

    async def stop(self) -> None:
        """Ask the worker to stop after its current chunk and wait for its thread to end."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already closed
                loop.call_soon_threadsafe(stop.set)
        await asyncio.to_thread(self._thread.join)
