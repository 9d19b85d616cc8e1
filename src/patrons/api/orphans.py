"""API processes exit with the `patrons serve` process that started them.

Granian runs the app in worker processes. When their main process dies without stopping them
(`kill -9`, an OOM kill), the workers would live on as orphans, still serving the port and
still running jobs. `patrons serve` names itself in PATRONS_SERVE_PID; each worker process
watches its parent and, once it has been re-parented, stops itself: SIGTERM first (the normal
shutdown: the embedded worker finishes its chunk), a hard exit if that has not ended it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger("patrons.api")
SERVE_PID_ENV = "PATRONS_SERVE_PID"
CHECK_SECONDS = 0.25
GRACE_SECONDS = 15.0


class Watch:
    def __init__(self, parent: int) -> None:
        self.parent = parent
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="patrons-orphan-watch", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancelled.set()

    def _run(self) -> None:
        while not self._cancelled.wait(CHECK_SECONDS):
            if os.getppid() != self.parent:
                break
        else:
            return
        log.error("the patrons serve process %d is gone; this process stops", self.parent)
        os.kill(os.getpid(), signal.SIGTERM)
        if not self._cancelled.wait(GRACE_SECONDS):
            os._exit(1)
        # The shutdown began in time (it cancelled this watch); make sure it also ends.
        threading.Timer(GRACE_SECONDS, os._exit, args=(1,)).start()


def watch() -> Watch | None:
    """Start watching when this process was spawned by `patrons serve` (None otherwise)."""
    raw = os.environ.get(SERVE_PID_ENV)
    if not raw or not raw.isdigit():
        return None
    parent = int(raw)
    if parent == os.getpid():  # the app runs inside the serve process itself
        return None
    if os.getppid() != parent:  # already orphaned before the app started
        os.kill(os.getpid(), signal.SIGTERM)
        return None
    return Watch(parent)
