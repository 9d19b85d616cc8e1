"""Who caused a change: carried from the request (or job) into the events it records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    request_id: str | None = None
    channel: str = "API"  # EventSource.channel: API | CLIENT_API | USER_PORTAL | INTERNAL
    app_id: str | None = None

    def event_source(self) -> dict[str, object]:
        source: dict[str, object] = {"channel": self.channel}
        if self.app_id:
            source["api_key"] = {"name": "Backend", "app_id": self.app_id}
        return source


INTERNAL = Origin(channel="INTERNAL")
