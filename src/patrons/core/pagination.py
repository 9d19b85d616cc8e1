"""Paging for every list: `limit`/`page` parsing, the `has_more` rule, keyset cursors.

Every list reads `limit` (1 to 100, default 10) and, where it pages by number, `page` here, so
the errors read alike everywhere. The upper bound of `page` is each endpoint's own (the spec
gives customers 99; segments and campaigns keep the wider bounds they always had).
A page is fetched with one row more than it shows: that row proves there is a next page
without a COUNT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from msgspec import UNSET, UnsetType

from patrons.core.errors import InvalidQueryParams

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def bounded_int(raw: object, *, name: str, default: int, low: int, high: int) -> int:
    """A query integer within [low, high]; absent (None) or empty → `default`."""
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):  # a repeated or bracketed key: not one integer
        raise InvalidQueryParams(f"Property .{name} must be integer")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQueryParams(f"Property .{name} must be integer") from None
    if not low <= value <= high:
        raise InvalidQueryParams(f"Property .{name} must be >= {low} and <= {high}")
    return value


def parse_limit(raw: object) -> int:
    return bounded_int(raw, name="limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)


def parse_page(raw: object, *, high: int) -> int:
    return bounded_int(raw, name="page", default=1, low=1, high=high)


def offset(page: int, limit: int) -> int:
    return (page - 1) * limit


def fetch_size(limit: int) -> int:
    """Rows to ask the database for: the page and one more (see split)."""
    return limit + 1


def split(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """Rows fetched with fetch_size(limit) → (the page, has_more)."""
    return list(rows[:limit]), len(rows) > limit


def next_cursor(page: Sequence[T], has_more: bool, key: Callable[[T], str]) -> str | UnsetType:
    """`more_starting_after`: the last item's key while there is more; absent (UNSET) on the
    last page, since the spec's field is not nullable."""
    return key(page[-1]) if has_more and page else UNSET


def after(descending: bool) -> str:
    """The comparison that continues past a cursor: `<` newest first, `>` oldest first."""
    return "<" if descending else ">"
