"""One clock. Timestamps are stored as integer epoch milliseconds: the wire's resolution, so a
`starting_after` cursor taken from a response maps onto stored values exactly."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def format_ms(ms: int) -> str:
    """Epoch milliseconds → `2022-08-30T06:32:07.380Z`."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_datetime_ms(value: str) -> int:
    """Any ISO-8601 form the SDKs send → epoch ms; naive and date-only values are UTC.

    Accepts `…000000+0000` (Python SDK), `….000Z` (JS), naive datetimes and `YYYY-MM-DD`.
    Raises ValueError otherwise.
    """
    text = value.strip()
    if not text or len(text) > 64:
        raise ValueError(value)
    dt = datetime.fromisoformat(text.replace(" ", "+") if _space_for_plus(text) else text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _space_for_plus(text: str) -> bool:
    # An unencoded '+' in a query string arrives as a space: `…00.000 0000` or `…00 01:00`.
    return len(text) > 10 and text[10] == "T" and " " in text[11:]


def format_date(value: date) -> str:
    return value.isoformat()
