"""Lists of redeemable holders: a customer's redeemables and a referral code's holders.

Both take `limit`, `order` (`id` | `-id`), `starting_after_id` and the `filters` deep object in
every form clients send (WIRE-FORMAT §1): `[$in][0]=A` indices, raw or percent-encoded
brackets, the Python SDK's `['A', 'B']` list text and its literal `None` leaves (= not given).
Holder ids start with the creation millisecond, so id order is age order and the id is the
cursor.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from msgspec import UNSET, UnsetType

from patrons.core.clock import now_ms, parse_datetime_ms
from patrons.core.errors import InvalidQueryParams
from patrons.core.querystring import parse_nested
from patrons.db import dialect
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.redeemables.repository import HOLDER_COLUMNS

TEXT_FIELDS = ("id", "redeemable_id", "campaign_id", "customer_id")
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "redeemable_object": ("voucher",),
    "holder_role": ("OWNER", "REFERRER", "REFEREE"),
    "campaign_type": ("LOYALTY_PROGRAM", "GIFT_VOUCHERS", "DISCOUNT_COUPONS", "REFERRAL_PROGRAM"),
    "voucher_type": ("GIFT_VOUCHER", "DISCOUNT_VOUCHER", "LOYALTY_CARD"),
}
TEXT_OPS = {
    "$in",
    "$not_in",
    "$is",
    "$is_not",
    "$has_value",
    "$is_unknown",
    "$starts_with",
    "$ends_with",
    "$contains",
    "$not_contain",
}
ENUM_OPS = {
    "$in",
    "$not_in",
    "$is",
    "$is_not",
    "$has_value",
    "$is_unknown",
    "$starts_with",
    "$ends_with",
}
DATE_OPS = {"$after", "$before", "$has_value", "$is_unknown", "$more_than", "$less_than"}
DAY_MS = 86_400_000
MAX_DAYS = 10_000_000


@dataclass
class Where:
    kind: str
    args: list[Any]
    parts: list[str] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def _given(value: Any) -> Any:
    """A filter leaf, or None when not given (the Python SDK sends unset leaves as `None`)."""
    if isinstance(value, list):
        items = [v for v in (_given(v) for v in value) if v is not None]
        return items or None
    if value is None or value == "None":
        return None
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:  # the Python SDK's list repr: ['A', 'B']
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(parsed, list | tuple):
            return _given([str(v) for v in parsed])
    return value


def _values(field_name: str, op: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise InvalidQueryParams(f"Property .filters.{field_name}.conditions.{op} is malformed")
    if any("\x00" in v for v in values):
        raise InvalidQueryParams(f"Property .filters.{field_name} must not contain NUL")
    return values


def _text_condition(where: Where, column: str, name: str, op: str, value: Any) -> str:
    if op == "$has_value":
        return f"{column} IS NOT NULL"
    if op == "$is_unknown":
        return f"{column} IS NULL"
    values = _values(name, op, value)
    kind = where.kind
    if op in ("$in", "$not_in"):
        sql = dialect.any_of_sql(kind, column, where.param(dialect.list_param(kind, values)))
        return sql if op == "$in" else f"({column} IS NULL OR NOT {sql})"
    first = values[0]
    if op == "$is":
        return f"{column} = {where.param(first)}"
    if op == "$is_not":
        return f"({column} IS NULL OR {column} <> {where.param(first)})"
    if op == "$starts_with":
        return dialect.text_starts_with(kind, column, where.param(first))
    if op == "$ends_with":
        return dialect.text_ends_with(kind, column, where.param(first))
    if op == "$contains":
        return dialect.text_contains(kind, column, where.param(first))
    return f"({column} IS NULL OR NOT {dialect.text_contains(kind, column, where.param(first))})"


def _date_condition(where: Where, op: str, value: Any, now: int) -> str:
    if op == "$has_value":
        return "created_at IS NOT NULL"
    if op == "$is_unknown":
        return "created_at IS NULL"
    text = _values("created_at", op, value)[0]
    if op in ("$more_than", "$less_than"):
        try:
            days = int(text)
        except ValueError:
            raise InvalidQueryParams(
                f"Property .filters.created_at.conditions.{op} must be a number of days"
            ) from None
        days = max(-MAX_DAYS, min(days, MAX_DAYS))  # keeps the cutoff within BIGINT
        cutoff = where.param(now - days * DAY_MS)
        return f"created_at < {cutoff}" if op == "$more_than" else f"created_at > {cutoff}"
    try:
        moment = parse_datetime_ms(text)
    except ValueError:
        raise InvalidQueryParams(
            f"Property .filters.created_at.conditions.{op} must be an ISO 8601 date-time"
        ) from None
    return f"created_at {'>' if op == '$after' else '<'} {where.param(moment)}"


def compile_filters(filters: Any, where: Where, *, fields: tuple[str, ...]) -> None:
    """Append the `filters` deep object's conditions to `where`."""
    if filters is None or filters == "None" or filters == "":
        return
    if not isinstance(filters, dict):
        raise InvalidQueryParams("Property .filters must be an object")
    junction = str(_given(filters.get("junction")) or "and").lower()
    if junction not in ("and", "or"):
        raise InvalidQueryParams("Property .filters.junction must be one of and, or")
    now = now_ms()
    conditions: list[str] = []
    # The spec's filter objects allow further properties, so what this server does not know —
    # another field, a field that is not an object, keys beside `conditions`, condition names
    # without `$` — is ignored, as unknown JSON fields are. An unknown `$` operator on a known
    # field (a typo would otherwise silently list everything) or a bad value for a known one is
    # a 400.
    for name, spec in filters.items():
        if name == "junction" or name not in fields or not isinstance(spec, dict):
            continue
        conditions_of = spec.get("conditions")
        if not isinstance(conditions_of, dict):
            continue
        ops = ENUM_OPS if name in ENUM_FIELDS else DATE_OPS if name == "created_at" else TEXT_OPS
        for op, raw in conditions_of.items():
            if not op.startswith("$"):
                continue
            value = _given(raw)
            if op in ("$in", "$not_in") and value == "":
                value = []  # an empty array in deepObject form: `$in=`
            if op not in ops:
                raise InvalidQueryParams(f"Property .filters.{name}.conditions.{op} is not allowed")
            if value is None:  # not given, `$has_value`/`$is_unknown` included: they take ""
                continue
            if name == "created_at":
                conditions.append(_date_condition(where, op, value, now))
                continue
            if name in ENUM_FIELDS and op in ("$in", "$not_in", "$is", "$is_not"):
                bad = [v for v in _values(name, op, value) if v not in ENUM_FIELDS[name]]
                if bad:
                    raise InvalidQueryParams(
                        f"Property .filters.{name}.conditions.{op} must be one of "
                        + ", ".join(ENUM_FIELDS[name])
                    )
            conditions.append(_text_condition(where, name, name, op, value))
    if conditions:
        glue = " AND " if junction == "and" else " OR "
        where.parts.append("(" + glue.join(conditions) + ")")


class HolderPage(NamedTuple):
    rows: list[Row]
    total: int
    has_more: bool
    more_starting_after: str | UnsetType  # absent on the last page (the spec's is not nullable)


def _limit(params: dict[str, Any]) -> int:
    raw = _given(params.get("limit")) or "10"
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise InvalidQueryParams("Property .limit must be integer") from None
    if not 1 <= limit <= 100:
        raise InvalidQueryParams("Property .limit must be >= 1 and <= 100")
    return limit


async def page(
    db: Database | Conn,
    *,
    project_id: str,
    scope: tuple[str, str],
    query: bytes | str,
    fields: tuple[str, ...],
) -> HolderPage:
    """One page of the holders where the scope column equals the value, with its envelope."""
    params = parse_nested(query)
    limit = _limit(params)
    order = _given(params.get("order")) or "-id"
    if order not in ("id", "-id"):
        raise InvalidQueryParams("Property .order must be one of id, -id")
    where = Where(kind_of(db), [project_id])
    where.parts.append(f"{scope[0]} = {where.param(scope[1])}")
    compile_filters(params.get("filters"), where, fields=fields)
    conditions = " AND ".join(["project_id = $1", *where.parts])
    total = await db.fetchval(
        f"SELECT COUNT(*) FROM redeemable_holder WHERE {conditions}", *where.args
    )
    cursor = _given(params.get("starting_after_id"))
    if cursor is not None:
        if not isinstance(cursor, str) or "\x00" in cursor:
            raise InvalidQueryParams("Property .starting_after_id must be a string")
        conditions += f" AND id {'<' if order == '-id' else '>'} {where.param(cursor)}"
    direction = "DESC" if order == "-id" else "ASC"
    rows = await db.fetch(
        f"SELECT {HOLDER_COLUMNS} FROM redeemable_holder WHERE {conditions}"
        # Plain `id` order (not code-point): holder ids are `rh_` + lowercase hex, which every
        # collation orders alike, and the (project, customer, id) index then serves the page.
        f" ORDER BY id {direction} LIMIT {limit + 1}",
        *where.args,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    return HolderPage(rows, total, has_more, rows[-1]["id"] if has_more else UNSET)


CUSTOMER_FIELDS = (*TEXT_FIELDS[:3], "created_at", *ENUM_FIELDS)
HOLDER_FIELDS = (*TEXT_FIELDS, "created_at", *ENUM_FIELDS)
