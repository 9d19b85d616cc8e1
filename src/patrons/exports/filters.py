"""An export's `parameters.filters` → one rule of the shared filter model → SQL.

Customers use the segment-rule parser itself (segments/rules.py: the same fields, operators
and NULL rule as segment filters), plus the spec's `city` for `address.city`. Vouchers reuse
the same parser field by field: each voucher field is parsed as a customer field of the same
kind (text or timestamp) and then pointed at its voucher column, so operators and values are
checked exactly alike; `metadata.<key>` is the voucher's own metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from patrons.core.errors import InvalidPayload
from patrons.core.filters import Condition, Field, Rule
from patrons.segments import rules

_PATH = ".parameters.filters"
_CUSTOMER_ALIASES = {"city": "address.city"}
# voucher filter field → (a customer field of the same kind, the voucher column)
_VOUCHER_FIELDS = {
    "code": ("name", "code"),
    "category": ("name", "category"),
    "campaign_id": ("name", "campaign_id"),
    "holder_id": ("name", "holder_id"),
    "published_for_customer_id": ("name", "holder_id"),
    "created_at": ("created_at", "created_at"),
    "updated_at": ("updated_at", "updated_at"),
    "start_date": ("created_at", "start_date"),
    "expiration_date": ("created_at", "expiration_date"),
}


def _conditions(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if k != "junction"}


def _rewrite(exc: InvalidPayload) -> InvalidPayload:
    """The parser's message with the export's path (`.parameters.filters.…`)."""
    return InvalidPayload(str(exc.details or "").replace("Property .filter", f"Property {_PATH}"))


def parse(exported_object: str, filters: Any) -> Rule | None:
    """The filter rule, or None when the filters hold no condition (`{"junction": "and"}`)."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise InvalidPayload(f"Property {_PATH} must be an object")
    junction = filters.get("junction") or "and"
    if not _conditions(filters):
        if not isinstance(junction, str) or junction.lower() not in ("and", "or"):
            raise InvalidPayload(f"Property {_PATH}.junction must be one of: and, or")
        return None
    try:
        if exported_object == "customer":
            named = {_CUSTOMER_ALIASES.get(k, k): v for k, v in filters.items()}
            return rules.parse(named)
        return _voucher_rule(junction, _conditions(filters))
    except InvalidPayload as exc:
        raise _rewrite(exc) from None


def _voucher_rule(junction: Any, conditions: dict[str, Any]) -> Rule:
    groups = []
    for name, spec in conditions.items():
        name = str(name)
        if name.startswith("metadata."):
            rule = rules.parse({"junction": junction, name: spec})
            groups.append(rule.groups[0])
            continue
        if name not in _VOUCHER_FIELDS:
            raise InvalidPayload(
                f"Property .filter.{name} is not supported: use one of"
                f" {', '.join(_VOUCHER_FIELDS)} or metadata.<key>"
            )
        template, column = _VOUCHER_FIELDS[name]
        rule = rules.parse({"junction": junction, template: spec})
        field = Field(name, rule.groups[0][0].field.kind, column)
        groups.append(tuple(_moved(c, field) for c in rule.groups[0]))
    return Rule(str(junction).lower(), tuple(groups))


def _moved(condition: Condition, field: Field) -> Condition:
    return dataclasses.replace(condition, field=field)


def to_sql(rule: Rule | None, *, kind: str) -> tuple[str | None, list[Any]]:
    """The rule as SQL over the exported table's columns, parameters from $2 ($1: project)."""
    if rule is None:
        return None, []
    return rules.to_sql(rule, kind=kind, first_param=2)
