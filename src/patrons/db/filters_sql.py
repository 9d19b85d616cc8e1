"""The one filter compiler: a core.filters Rule as one boolean SQL expression.

Every condition renders as a *positive* predicate that is never NULL (an unknown value makes it
false), so a negated operator is exactly `NOT (positive)` — the three-valued-logic traps of
`col <> x` and `col NOT IN (…)` on NULL cannot occur (the NULL rule in core/filters.py). User
text only ever travels as bound parameters; dialect differences live in db/dialect.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patrons.db import dialect

if TYPE_CHECKING:  # db and core are independent layers: the model's types only, no import
    from patrons.core.filters import Condition, Rule

# core.filters' field kinds and tests, rendered by the same strings.
_METADATA, _TIMESTAMP = "metadata", "timestamp"

_SIGNS = {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "after": ">", "before": "<"}


class _Params:
    def __init__(self, kind: str, first: int) -> None:
        self.kind = kind
        self.first = first
        self.values: list[Any] = []

    def add(self, value: Any, sql_type: str) -> str:
        self.values.append(value)
        return dialect.typed_param(self.kind, self.first + len(self.values) - 1, sql_type)

    def many(self, values: list[Any], sql_type: str) -> str:
        return ", ".join(self.add(v, sql_type) for v in values)


def render(rule: Rule, *, kind: str, first_param: int) -> tuple[str, list[Any]]:
    """The rule's SQL (never NULL) and its parameters, numbered from $first_param."""
    params = _Params(kind, first_param)
    groups = []
    for group in rule.groups:
        parts = [_condition(c, params) for c in group]
        groups.append(parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")")
    joiner = " AND " if rule.junction == "and" else " OR "
    return "(" + joiner.join(groups) + ")", params.values


def _condition(c: Condition, p: _Params) -> str:
    sql = _metadata(c, p) if c.field.kind == _METADATA else _column(c, p)
    return f"NOT {sql}" if c.negated else sql


def _text_tests(kind: str, test: str, haystack: str, needles: list[str]) -> str:
    function = {
        "contains": dialect.text_contains,
        "starts": dialect.text_starts_with,
        "ends": dialect.text_ends_with,
    }[test]
    parts = [function(kind, haystack, needle) for needle in needles]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _column(c: Condition, p: _Params) -> str:
    column, kind, test = c.field.column, p.kind, c.test
    sql_type = "int" if c.field.kind == _TIMESTAMP else "text"
    if test == "has_value":
        body = "TRUE" if sql_type == "int" else f"{column} <> ''"
    elif test == "eq":
        body = f"{column} IN ({p.many(list(c.values), sql_type)})" if c.values else "FALSE"
    elif test in _SIGNS:
        left = column if sql_type == "int" else dialect.code_point_order(kind, column)
        body = f"{left} {_SIGNS[test]} {p.add(c.values[0], sql_type)}"
    else:
        needles = [p.add(v, "text") for v in c.values]
        body = _text_tests(kind, test, column, needles)
    return f"({column} IS NOT NULL AND {body})"


def _metadata(c: Condition, p: _Params) -> str:
    kind, test = p.kind, c.test
    assert c.field.key is not None
    key = p.add(c.field.key, "text")
    m = dialect.json_member(kind, c.field.column, key)
    if test == "has_value":
        predicate = f"NOT ({m.is_null}) AND NOT ({m.is_string} AND {m.text} = '')"
    elif test == "eq":
        texts = p.many([v.text for v in c.values], "text")
        numbers = [v.number for v in c.values if v.number is not None]
        branches = [
            f"WHEN {m.is_string} THEN {m.text} IN ({texts})",
            f"WHEN {m.is_boolean} THEN {m.boolean_text} IN ({texts})",
        ]
        if numbers:
            branches.append(f"WHEN {m.is_number} THEN {m.number} IN ({p.many(numbers, 'float')})")
        predicate = f"CASE {' '.join(branches)} ELSE FALSE END"
    elif test in ("gt", "lt", "ge", "le"):
        bound = f"{_SIGNS[test]} {p.add(c.values[0], 'float')}"
        numeral = dialect.numeral_value(kind, m.text)
        predicate = (
            f"CASE WHEN {m.is_number} THEN {m.number} {bound}"
            f" WHEN {m.is_string} AND {dialect.is_decimal_numeral(kind, m.text)}"
            f" THEN {numeral} {bound} ELSE FALSE END"
        )
    elif test in ("after", "before"):
        ordered = dialect.code_point_order(kind, m.text)
        predicate = (
            f"CASE WHEN {m.is_string} THEN {ordered} {_SIGNS[test]}"
            f" {p.add(c.values[0], 'text')} ELSE FALSE END"
        )
    else:
        needles = [p.add(v, "text") for v in c.values]
        predicate = (
            f"CASE WHEN {m.is_string} THEN {_text_tests(kind, test, m.text, needles)}"
            " ELSE FALSE END"
        )
    return dialect.json_member_holds(kind, c.field.column, key, predicate)
