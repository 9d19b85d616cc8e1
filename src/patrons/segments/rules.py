"""Segment rules: Voucherify's filter object → one rule model → SQL (both databases) or Python.

`parse(filter)` validates a filter (WIRE-FORMAT §5.1) into a `Rule` (the operator model of
core/filters.py); `to_sql(rule, kind=…, first_param=…)` renders it with the one filter compiler
(db/filters_sql.py) as a boolean SQL expression over the `customer` table's columns;
`matches(rule, row)` evaluates the same predicate on one customer row. The two always agree,
on SQLite and on PostgreSQL (tests/test_rules.py checks that on random customers and rules).

Shape: `{"junction": "and"|"or" (any case, default and), "<field>": {"conditions": {"$op": v}}}`.
Fields are joined by the junction; the conditions of one field are ANDed. A value may be a
scalar or a non-empty array (at most 1000 items): positive operators match ANY item, negated
ones match NONE; comparison operators take exactly one value.

Semantics ("unknown" = a NULL column, or a metadata key that is absent or JSON null):

| operator                      | text¹       | birthdate², created_at³ | metadata.<key>⁴        |
|-------------------------------|-------------|-------------------------|------------------------|
| $is, $in                      | equal       | equal                   | equal, see ⁴           |
| $is_not, $not_in              | NOT $is     | NOT $is                 | NOT $is                |
| $has_value                    | known, ≠ '' | known, ≠ ''             | known, ≠ ""            |
| $is_unknown                   | NOT $has_value (all fields)                                      |
| $contains, $starts_with,      | substring,  | —                       | string values only,    |
|   $ends_with                  | prefix, sfx |                         |   as for text          |
| $not_contain                  | NOT $contains (text, metadata)                                   |
| $more_than, $less_than, *_equal | —         | >, <, >=, <=            | as doubles, see ⁴      |
| $after, $before               | —           | >, <                    | strings, code points   |

Every test is false on an unknown value, so every negated operator ($is_not, $not_in,
$not_contain, $is_unknown) is true on one (the one NULL rule, core/filters.py).
¹ name, email, phone, description, source_id, address.{city,state,line_1,line_2,country,
  postal_code}: exact code-point comparison — no case folding, no Unicode normalisation, and `%`
  or `_` in a value are ordinary characters (no LIKE anywhere).
² birthdate, birthday: values are ISO-8601 strings starting `YYYY-MM-DD`; that date is compared
  with the stored `YYYY-MM-DD` text by code point (= chronologically).
³ created_at, updated_at: values are ISO-8601 date-times (naive = UTC), compared as epoch ms.
⁴ metadata.<key> names one top-level key, taken literally (`metadata.a.b` is key "a.b").
  `$is`/`$in` values may be strings, numbers or booleans; a number or boolean value stands for
  its JSON text (`10` → "10", `true` → "true"). A stored string equals a value with the same
  text; a stored boolean equals "true"/"false"; a stored number equals a value that is a
  JSON-number literal with the same double value ("10", "1e1", 10.0 all equal 10). Arrays,
  objects and null never equal anything. `$more_than`… take a number or numeric string and
  compare as IEEE-754 doubles against stored numbers and against stored decimal numerals
  (strings matching `-?(0|[1-9][0-9]*)(\\.[0-9]+)?`, at most 40 characters, e.g. CSV-imported
  "10"); other values never match. `$after`/`$before` take an ISO-8601 string and compare it with
  stored strings by code point (ISO dates in one format order chronologically).
Metadata numbers beyond the double range cannot come in through the API (they encode as null);
PostgreSQL would raise on one written by hand.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from patrons.core.clock import parse_datetime_ms
from patrons.core.errors import InvalidPayload
from patrons.core.filters import (
    AFTER,
    BEFORE,
    CONTAINS,
    DATE,
    ENDS_WITH,
    EQ,
    GE,
    GT,
    HAS_VALUE,
    LE,
    LT,
    METADATA,
    OPERATORS,
    STARTS_WITH,
    TEXT,
    TIMESTAMP,
    Condition,
    Field,
    MetaValue,
    Rule,
)
from patrons.db import filters_sql

MAX_VALUES = 1000

_TEXT_COLUMNS = {f: f for f in ("name", "email", "phone", "description", "source_id")} | {
    f"address.{p}": f"address_{p}"
    for p in ("city", "state", "line_1", "line_2", "country", "postal_code")
}
_DATE_COLUMNS = dict.fromkeys(("birthdate", "birthday"), DATE)
_DATE_COLUMNS |= dict.fromkeys(("created_at", "updated_at"), TIMESTAMP)
_COMMON = ("$is", "$is_not", "$in", "$not_in", "$has_value", "$is_unknown")
_TEXTUAL = ("$contains", "$not_contain", "$starts_with", "$ends_with")
_ORDERED = ("$more_than", "$less_than", "$more_than_equal", "$less_than_equal", "$after", "$before")
_ALLOWED = {
    TEXT: _COMMON + _TEXTUAL,
    DATE: _COMMON + _ORDERED,
    TIMESTAMP: _COMMON + _ORDERED,
    METADATA: _COMMON + _TEXTUAL + _ORDERED,
}
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_DECIMAL_NUMERAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MISSING = object()


def parse(filter: Any) -> Rule:
    if not isinstance(filter, Mapping):
        raise InvalidPayload("Property .filter must be an object")
    junction = filter.get("junction") or "and"  # the Python SDK sends null for unset keys
    if not isinstance(junction, str) or junction.lower() not in ("and", "or"):
        raise InvalidPayload("Property .filter.junction must be one of: and, or")
    groups = []
    total = 0
    for name, spec in filter.items():
        if name == "junction":
            continue
        group = _parse_field(str(name), spec)
        total += sum(len(c.values) for c in group)
        groups.append(group)
    if not groups:
        raise InvalidPayload("Property .filter must contain at least one field condition")
    if total > 10 * MAX_VALUES:
        raise InvalidPayload(f"Property .filter must have at most {10 * MAX_VALUES} values")
    return Rule(junction.lower(), tuple(groups))


def to_sql(rule: Rule, *, kind: str, first_param: int) -> tuple[str, list[Any]]:
    """A boolean SQL expression (never NULL) and its parameters, numbered from $first_param."""
    return filters_sql.render(rule, kind=kind, first_param=first_param)


def matches(rule: Rule, customer: Mapping[str, Any]) -> bool:
    """The rule on one customer row (column names as in the table; metadata as text or dict)."""
    metadata: Any = None

    def value(field: Field) -> Any:
        nonlocal metadata
        if field.kind != METADATA:
            return customer[field.column]
        if metadata is None:
            metadata = _load_metadata(customer["metadata"])
        return metadata.get(field.key, _MISSING)

    results = (all(_holds(c, value(c.field)) != c.negated for c in group) for group in rule.groups)
    return all(results) if rule.junction == "and" else any(results)


# --- parsing ---------------------------------------------------------------------------------


def _field(name: str) -> Field:
    if name in _TEXT_COLUMNS:
        return Field(name, TEXT, _TEXT_COLUMNS[name])
    if name in _DATE_COLUMNS:
        return Field(name, _DATE_COLUMNS[name], name)
    if "\x00" in name:
        raise InvalidPayload("Property .filter must not have NUL characters in its keys")
    if name.startswith("metadata.") and len(name) > len("metadata."):
        return Field(name, METADATA, "metadata", name[len("metadata.") :])
    raise InvalidPayload(
        f"Property .filter.{name} is not supported: use one of {', '.join(_TEXT_COLUMNS)},"
        f" {', '.join(_DATE_COLUMNS)} or metadata.<key>"
    )


def _parse_field(name: str, spec: Any) -> tuple[Condition, ...]:
    field = _field(name)
    path = f".filter.{name}"
    if not isinstance(spec, Mapping) or "conditions" not in spec:
        raise InvalidPayload(f"Property {path} must be an object with conditions")
    for extra in spec:
        if extra != "conditions":
            raise InvalidPayload(f"Property {path}.{extra} is not allowed")
    conditions = spec["conditions"]
    if not isinstance(conditions, Mapping) or not conditions:
        raise InvalidPayload(f"Property {path}.conditions must be a non-empty object")
    allowed = _ALLOWED[field.kind]
    parsed = []
    for op, raw in conditions.items():
        where = f"{path}.conditions.{op}"
        if op not in allowed:
            raise InvalidPayload(
                f"Property {where} is not supported: use one of {', '.join(allowed)}"
            )
        test, negated = OPERATORS[op]
        if field.kind != METADATA and test in (AFTER, BEFORE):
            test = GT if test == AFTER else LT
        parsed.append(Condition(field, test, negated, _values(field.kind, op, test, raw, where)))
    return tuple(parsed)


def _items(raw: Any, where: str, what: str, single: bool) -> list[Any]:
    items = raw if isinstance(raw, list) else [raw]
    if single and len(items) != 1:
        raise InvalidPayload(f"Property {where} must be {what} (or an array of exactly one)")
    if not items:
        raise InvalidPayload(f"Property {where} must be a non-empty array")
    if len(items) > MAX_VALUES:
        raise InvalidPayload(f"Property {where} must have at most {MAX_VALUES} values")
    if any(isinstance(v, str) and "\x00" in v for v in items):
        raise InvalidPayload(f"Property {where} must not contain NUL characters")
    return items


def _values(kind: str, op: str, test: str, raw: Any, where: str) -> tuple[Any, ...]:
    if test == HAS_VALUE:
        items = raw if isinstance(raw, list) else [raw]
        if len(items) > 1 or not all(_is_flag(item) for item in items):
            raise InvalidPayload(f"Property {where} must be true or null")
        return ()
    single = test not in (EQ, CONTAINS, STARTS_WITH, ENDS_WITH)
    plural = "an array of " if op in ("$in", "$not_in") else ""
    if kind == TEXT or test in (CONTAINS, STARTS_WITH, ENDS_WITH):
        nonempty = test != EQ
        noun = "non-empty string" if nonempty else "string"
        what = f"an array of {noun}s" if plural else f"a {noun} or an array of {noun}s"
        items = _items(raw, where, what, single)
        if not all(isinstance(v, str) and (v or not nonempty) for v in items):
            raise InvalidPayload(f"Property {where} must be {what}")
        return tuple(items)
    if kind == DATE:
        return tuple(_date(v, where) for v in _items(raw, where, "a date", single))
    if kind == TIMESTAMP:
        return tuple(_timestamp(v, where) for v in _items(raw, where, "a date-time", single))
    if test == EQ:
        what = "an array of strings, numbers or booleans"
        what = what if plural else f"a string, number or boolean or {what}"
        return tuple(_meta_value(v, where, what) for v in _items(raw, where, what, single))
    if test in (AFTER, BEFORE):
        items = _items(raw, where, "an ISO-8601 date-time string", single)
        _timestamp(items[0], where)
        return (items[0],)
    what = "a number or a numeric string"
    number = _number(_items(raw, where, what, single)[0])
    if number is None:
        raise InvalidPayload(f"Property {where} must be {what}")
    return (number,)


def _is_flag(value: Any) -> bool:
    """`$has_value`/`$is_unknown` take no operand; accepted placeholders: true, null, "", "true"."""
    return value is None or value is True or (isinstance(value, str) and value in ("", "true"))


def _date(value: Any, where: str) -> str:
    message = f"Property {where} must be a date (YYYY-MM-DD)"
    if not isinstance(value, str) or not _DATE_PREFIX.match(value):
        raise InvalidPayload(message)
    try:
        date.fromisoformat(value[:10])
        parse_datetime_ms(value)
    except (ValueError, OverflowError):
        raise InvalidPayload(message) from None
    return value[:10]


def _timestamp(value: Any, where: str) -> int:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return parse_datetime_ms(value)
    except (ValueError, OverflowError):
        raise InvalidPayload(f"Property {where} must be an ISO-8601 date-time string") from None


def _number(value: Any) -> float | None:
    """A finite double from a JSON number or a JSON-number literal string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _JSON_NUMBER.fullmatch(value):
            return None
    elif not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _meta_value(value: Any, where: str, what: str) -> MetaValue:
    if isinstance(value, bool):
        return MetaValue("true" if value else "false", None)
    if isinstance(value, str):
        return MetaValue(value, _number(value))
    if isinstance(value, int | float) and _number(value) is not None:
        return MetaValue(json.dumps(value), _number(value))
    raise InvalidPayload(f"Property {where} must be {what}")


# --- evaluation ------------------------------------------------------------------------------


def _load_metadata(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str | bytes):
        raw = json.loads(raw)
    return raw if isinstance(raw, Mapping) else {}


def _as_double(value: Any) -> float | None:
    """A stored metadata value as a double: numbers, and decimal-numeral strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    if isinstance(value, str) and len(value) <= 40 and _DECIMAL_NUMERAL.fullmatch(value):
        return float(value)
    return None


def _holds(c: Condition, value: Any) -> bool:
    """The positive test (before negation); unknown values fail every test but HAS_VALUE's."""
    if value is _MISSING or value is None:
        return False
    test = c.test
    if test == HAS_VALUE:
        return value != ""
    if c.field.kind == METADATA:
        return _holds_metadata(c, value)
    if test == EQ:
        return value in c.values
    if test in (GT, LT, GE, LE):
        return _compare(test, value, c.values[0])
    return _text_test(test, value, c.values)


def _holds_metadata(c: Condition, value: Any) -> bool:
    test = c.test
    if test == EQ:
        if isinstance(value, bool):
            text = "true" if value else "false"
            return any(v.text == text for v in c.values)
        if isinstance(value, str):
            return any(v.text == value for v in c.values)
        if isinstance(value, int | float):
            number = _as_double(value)
            return any(v.number is not None and v.number == number for v in c.values)
        return False
    if test in (GT, LT, GE, LE):
        number = _as_double(value)
        return number is not None and _compare(test, number, c.values[0])
    if not isinstance(value, str):
        return False
    if test in (AFTER, BEFORE):
        return _compare(GT if test == AFTER else LT, value, c.values[0])
    return _text_test(test, value, c.values)


def _compare(test: str, left: Any, right: Any) -> bool:
    return bool(_COMPARISONS[test](left, right))


def _text_test(test: str, value: str, needles: tuple[Any, ...]) -> bool:
    return any(_TEXT_TESTS[test](value, n) for n in needles)


_COMPARISONS = {GT: operator.gt, LT: operator.lt, GE: operator.ge, LE: operator.le}
_TEXT_TESTS: dict[str, Callable[[str, Any], bool]] = {
    CONTAINS: operator.contains,
    STARTS_WITH: str.startswith,
    ENDS_WITH: str.endswith,
}
