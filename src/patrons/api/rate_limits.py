"""Per-project request budgets over fixed windows, shared by every API process.

Each authenticated /v1 request adds one to its project's row for the current window with one
atomic upsert (`INSERT … ON CONFLICT … DO UPDATE SET n = n + 1 RETURNING n`), so processes on
one database spend one budget and never race: the database serialises the increments. The
request is allowed while the returned count is within the limit. Refused requests count too
(they still cost a statement), which keeps the arithmetic a single round trip.

Off by default: the Gateway holds no limiter then and pays one `is None` check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patrons.api import rate_limit_repository as repository
from patrons.core.clock import now_ms
from patrons.db.database import Database

API_CALLS = "api_calls"
BULK_API_CALLS = "bulk_api_calls"
# POST targets that spend the bulk budget, as http.paths.api_segments splits them.
_BULK_PATHS = frozenset(
    {("customers", "bulk", "async"), ("customers", "metadata", "async"), ("customers", "importCSV")}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    limit: int
    used: int
    resets_at: int  # unix seconds: the end of the window
    retry_after: int  # whole seconds until then, at least 1

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-rate-limit-limit", str(self.limit).encode()),
            (b"x-rate-limit-remaining", str(max(0, self.limit - self.used)).encode()),
            (b"x-rate-limit-retry", str(self.resets_at).encode()),
            (b"x-rate-limit-type", self.kind.encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


class RateLimiter:
    def __init__(
        self, db: Database, *, api_calls: int, bulk_api_calls: int, window_seconds: int
    ) -> None:
        self.db = db
        self.limits = {API_CALLS: api_calls, BULK_API_CALLS: bulk_api_calls}
        self.window_ms = max(1, window_seconds) * 1000
        self._pruned_window = 0

    @classmethod
    def from_settings(cls, db: Database, settings: Any) -> RateLimiter | None:
        """A limiter when any budget is set, else None (limits off)."""
        if settings.rate_limit_api_calls <= 0 and settings.rate_limit_bulk_api_calls <= 0:
            return None
        return cls(
            db,
            api_calls=settings.rate_limit_api_calls,
            bulk_api_calls=settings.rate_limit_bulk_api_calls,
            window_seconds=settings.rate_limit_window_seconds,
        )

    def kind_of(self, method: str, segments: tuple[str, ...]) -> str | None:
        """The budget a request spends, or None when that budget is off."""
        if method == "POST" and segments in _BULK_PATHS and self.limits[BULK_API_CALLS]:
            return BULK_API_CALLS
        return API_CALLS if self.limits[API_CALLS] > 0 else None

    async def hit(self, project_id: str, method: str, segments: tuple[str, ...]) -> Verdict | None:
        kind = self.kind_of(method, segments)
        if kind is None:
            return None
        now = now_ms()
        window = now - now % self.window_ms
        if window != self._pruned_window:
            # Once per window per process: earlier windows can never be spent again.
            self._pruned_window = window
            await repository.prune(self.db, before=window - self.window_ms)
        used = await repository.hit(self.db, project_id=project_id, kind=kind, window_start=window)
        end = window + self.window_ms
        return Verdict(
            kind=kind,
            limit=self.limits[kind],
            used=used,
            resets_at=-(-end // 1000),
            retry_after=max(1, -(-(end - now) // 1000)),
        )
