"""JSON columns passed through to responses without decoding them."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Raw


def raw_json(value: Any) -> Raw | None:
    """A JSON column as the wire's raw JSON: text (SQLite, and asyncpg's jsonb codec) as is,
    an already-decoded value (an event snapshot) re-encoded; NULL stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return Raw(value.encode())
    return Raw(msgspec.json.encode(value))
