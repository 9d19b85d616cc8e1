"""Lists of redeemable holders: a customer's redeemables and a referral code's holders.

Both take `limit`, `order` (`id` | `-id`), `starting_after_id` and the `filters` deep object in
every form clients send (WIRE-FORMAT §1): `[$in][0]=A` indices, raw or percent-encoded
brackets, the Python SDK's `['A', 'B']` list text and its literal `None` leaves (= not given).
Holder ids start with the creation millisecond, so id order is age order and the id is the
cursor.
"""

from __future__ import annotations

import ast
from typing import Any, NamedTuple

from msgspec import UnsetType

from patrons.core import pagination
from patrons.core.clock import now_ms, parse_datetime_ms
from patrons.core.errors import InvalidQueryParams
from patrons.core.filters import (
    GT,
    HAS_VALUE,
    LT,
    OPERATORS,
    TEXT,
    TIMESTAMP,
    Condition,
    Field,
    Rule,
)
from patrons.db import filters_sql
from patrons.db.database import Conn, Database, Row, kind_of
from patrons.redeemables import repository

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
_CREATED_AT = Field("created_at", TIMESTAMP, "created_at")


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
    return values


def _text_condition(name: str, op: str, value: Any) -> Condition:
    test, negated = OPERATORS[op]
    field = Field(name, TEXT, name)
    if test == HAS_VALUE:
        return Condition(field, test, negated, ())
    values = _values(name, op, value)
    # Only the list operators take several values; the others take the first one given.
    return Condition(
        field, test, negated, tuple(values if op in ("$in", "$not_in") else values[:1])
    )


def _date_condition(op: str, value: Any, now: int) -> Condition:
    test, negated = OPERATORS[op]
    if test == HAS_VALUE:
        return Condition(_CREATED_AT, test, negated, ())
    text = _values("created_at", op, value)[0]
    if op in ("$more_than", "$less_than"):
        # Here they count days back from now: more than N days ago = created before the cutoff.
        try:
            days = int(text)
        except ValueError:
            raise InvalidQueryParams(
                f"Property .filters.created_at.conditions.{op} must be a number of days"
            ) from None
        days = max(-MAX_DAYS, min(days, MAX_DAYS))  # keeps the cutoff within BIGINT
        cutoff = now - days * DAY_MS
        return Condition(_CREATED_AT, LT if op == "$more_than" else GT, False, (cutoff,))
    try:
        moment = parse_datetime_ms(text)
    except ValueError:
        raise InvalidQueryParams(
            f"Property .filters.created_at.conditions.{op} must be an ISO 8601 date-time"
        ) from None
    return Condition(_CREATED_AT, GT if op == "$after" else LT, False, (moment,))


def compile_filters(filters: Any, *, fields: tuple[str, ...], now: int) -> Rule | None:
    """The `filters` deep object as a Rule (None when it sets no condition).

    The junction joins every condition, those of one field included (each is its own group).
    """
    if filters is None or filters == "None" or filters == "":
        return None
    if not isinstance(filters, dict):
        raise InvalidQueryParams("Property .filters must be an object")
    junction = str(_given(filters.get("junction")) or "and").lower()
    if junction not in ("and", "or"):
        raise InvalidQueryParams("Property .filters.junction must be one of and, or")
    conditions: list[Condition] = []
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
                conditions.append(_date_condition(op, value, now))
                continue
            if name in ENUM_FIELDS and op in ("$in", "$not_in", "$is", "$is_not"):
                bad = [v for v in _values(name, op, value) if v not in ENUM_FIELDS[name]]
                if bad:
                    raise InvalidQueryParams(
                        f"Property .filters.{name}.conditions.{op} must be one of "
                        + ", ".join(ENUM_FIELDS[name])
                    )
            conditions.append(_text_condition(name, op, value))
    if not conditions:
        return None
    return Rule(junction, tuple((c,) for c in conditions))


class HolderPage(NamedTuple):
    rows: list[Row]
    total: int
    has_more: bool
    more_starting_after: str | UnsetType  # absent on the last page (the spec's is not nullable)


async def page(
    db: Database | Conn,
    *,
    project_id: str,
    scope: tuple[str, str],
    params: dict[str, Any],
    fields: tuple[str, ...],
) -> HolderPage:
    """One page of the holders where the scope column equals the value, with its envelope.

    `params` is the decoded query (http.requests.query_nested: NUL already refused).
    """
    limit = pagination.parse_limit(_given(params.get("limit")))
    order = _given(params.get("order")) or "-id"
    if order not in ("id", "-id"):
        raise InvalidQueryParams("Property .order must be one of id, -id")
    descending = order == "-id"
    args: list[Any] = [scope[1]]
    where = f"{scope[0]} = $2"
    rule = compile_filters(params.get("filters"), fields=fields, now=now_ms())
    if rule is not None:
        sql, values = filters_sql.render(rule, kind=kind_of(db), first_param=len(args) + 2)
        where += f" AND {sql}"
        args.extend(values)
    total = await repository.count_holders(db, project_id=project_id, where=where, args=args)
    cursor = _given(params.get("starting_after_id"))
    if cursor is not None:
        if not isinstance(cursor, str):
            raise InvalidQueryParams("Property .starting_after_id must be a string")
        args.append(cursor)
        where += f" AND id {pagination.after(descending)} ${len(args) + 1}"
    rows = await repository.page_of_holders(
        db,
        project_id=project_id,
        where=where,
        args=args,
        descending=descending,
        limit=pagination.fetch_size(limit),
    )
    shown, has_more = pagination.split(rows, limit)
    return HolderPage(
        shown, total, has_more, pagination.next_cursor(shown, has_more, lambda r: r["id"])
    )


CUSTOMER_FIELDS = (*TEXT_FIELDS[:3], "created_at", *ENUM_FIELDS)
HOLDER_FIELDS = (*TEXT_FIELDS, "created_at", *ENUM_FIELDS)
