"""One clock. Timestamps are stored as integer epoch milliseconds: the wire's resolution, so a
`starting_after` cursor taken from a response maps onto stored values exactly."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_DAYS: dict[int, str] = {}
# Every minute of a day as `HH:MM:`, every second as `SS.`, every millisecond as `mmmZ`: a
# timestamp is then lookups and one concatenation instead of five formatted numbers (a list
# page of 100 customers formats 200 of them).
_MINUTES = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECONDS = [f"{s:02d}." for s in range(60)]
_MILLIS = [f"{m:03d}Z" for m in range(1000)]


def format_ms(ms: int) -> str:
    """Epoch milliseconds → `2022-08-30T06:32:07.380Z` (every response carries several)."""
    day, rest = divmod(ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:  # the date part, computed once per day seen
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        prefix = _DAYS[day] = f"{_EPOCH + timedelta(days=day):%Y-%m-%d}T"
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    return prefix + _MINUTES[minutes] + _SECONDS[second] + _MILLIS[milli]


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
