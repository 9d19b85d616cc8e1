"""GET /v1/customers: query parameters → validated filters → SQL conditions and ordering.

Ordering is always total — ties on the sort column are broken by `id` — and a `starting_after`
cursor is keyset-based, so a page 500 cursors deep costs what page 1 costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patrons.core.clock import parse_datetime_ms
from patrons.core.errors import InvalidQueryParams
from patrons.core.pagination import after, parse_limit, parse_page

ORDERS = {
    # order value → (column, descending)
    "created_at": ("created_at", False),
    "-created_at": ("created_at", True),
    "updated_at": ("updated_at", False),
    "-updated_at": ("updated_at", True),
    "source_id": ("source_id", False),
    "-source_id": ("source_id", True),
}
_DATE_PARAMS = {
    "created_at[before]": ("created_at", "<"),
    "created_at[after]": ("created_at", ">"),
    "updated_at[before]": ("updated_at", "<"),
    "updated_at[after]": ("updated_at", ">"),
}
_EQUALS = {"email": "email", "city": "address_city", "name": "name"}
# Filters matched case-insensitively (an expression index serves each): e-mails, as Voucherify.
_FOLDED = frozenset(("email",))


@dataclass(slots=True)
class ListQuery:
    limit: int = 10
    page: int = 1
    order: str = "-created_at"
    starting_after: int | None = None
    segment_id: str | None = None
    # Filter conditions over customer columns, placeholders numbered from $2.
    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    # The date-range filters as (column, op, epoch ms), for counting them cheaply.
    ranges: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def column(self) -> str:
        return ORDERS[self.order][0]

    @property
    def descending(self) -> bool:
        return ORDERS[self.order][1]

    def add(self, sql_template: str, value: Any) -> None:
        self.args.append(value)
        self.where.append(sql_template.format(f"${len(self.args) + 1}"))


def _date_param(name: str, raw: str) -> int:
    try:
        return parse_datetime_ms(raw)
    except ValueError:
        raise InvalidQueryParams(
            f"Property .{name} cannot be recognized as a ISO-8601 compliant date"
        ) from None


def parse(params: dict[str, str]) -> ListQuery:
    q = ListQuery(
        limit=parse_limit(params.get("limit")),
        page=parse_page(params.get("page"), high=99),
    )
    order = params.get("order")
    if order:
        if order not in ORDERS:
            raise InvalidQueryParams("Property .order must be equal to one of " + ", ".join(ORDERS))
        q.order = order
    for name, column in _EQUALS.items():
        value = params.get(name)
        if value is not None and value != "":
            if name in _FOLDED:
                q.add(f"lower({column}) = lower({{}})", value)
            else:
                q.add(f"{column} = {{}}", value)
    for name, (column, op) in _DATE_PARAMS.items():
        raw = params.get(name)
        if raw:
            ms = _date_param(name, raw)
            q.add(f"{column} {op} {{}}", ms)
            q.ranges.append((column, op, ms))
    if params.get("starting_after"):
        q.starting_after = _date_param("starting_after", params["starting_after"])
    q.segment_id = params.get("segment_id") or None
    return q


def order_by(q: ListQuery) -> str:
    """ORDER BY for the query: the sort column, then id, both in the same direction.

    NULLs (never-updated customers, customers without source_id) sort as the smallest value on
    both databases, so ascending and descending orders are exact mirrors of each other.
    """
    direction = "DESC" if q.descending else "ASC"
    nulls = "NULLS LAST" if q.descending else "NULLS FIRST"
    if q.column == "created_at":
        return f"created_at {direction}, id {direction}"
    return f"{q.column} {direction} {nulls}, id {direction}"


def cursor_condition(q: ListQuery) -> str | None:
    """`starting_after` bounds `created_at`: before it for descending orders, after it otherwise."""
    if q.starting_after is None:
        return None
    return f"created_at {after(q.descending)} {{}}"


def lone_range(q: ListQuery) -> tuple[str, str, int] | None:
    """(column, op, epoch ms) when the only filter is one date bound (no segment)."""
    if q.segment_id is None and len(q.where) == 1 and len(q.ranges) == 1:
        return q.ranges[0]
    return None


def created_range_only(q: ListQuery) -> tuple[str, int] | None:
    """(op, epoch ms) when the only filter is one `created_at` bound (no segment): its `total`
    can be counted from whichever side of the bound holds fewer customers."""
    if q.segment_id is None and len(q.where) == 1 and len(q.ranges) == 1:
        column, op, value = q.ranges[0]
        if column == "created_at":
            return op, value
    return None


def sorts_by_filtered_column(q: ListQuery) -> bool:
    """True when every date-range filter is on the sort column (a page then walks the sort
    index inside the range); False when another filter could make that walk long."""
    return len(q.where) == len(q.ranges) and all(c == q.column for c, _, _ in q.ranges)
