"""Query-string parsing for every form the SDKs send (WIRE-FORMAT §1).

Keys arrive raw (`created_at[before]`) or percent-encoded (`created_at%5Bbefore%5D`); deep
objects arrive as `filters[a][conditions][$in][0]=x`. The query string is decoded once into a
nested dict; leaves are strings, repeated or indexed keys become lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from patrons.core.errors import InvalidQueryParams

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def parse_flat(raw: bytes | str) -> dict[str, str]:
    """Decoded key → last value; bracketed keys stay whole (`created_at[before]`)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    if not text:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"))


def parse_nested(raw: bytes | str) -> dict[str, Any]:
    """Decoded keys split on brackets into nested dicts; numeric or empty parts make lists."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
        head, _, rest = key.partition("[")
        parts = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        _insert(root, parts, value)
    # The top level is always a mapping, even when every key is numeric or empty (`?0=x`,
    # `?=true`): callers look names up in it.
    return {k: _listify(v) for k, v in root.items()}


def _insert(node: dict[str, Any], parts: list[str], value: str) -> None:
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = parts[-1]
    if last == "":
        last = str(len(node))
    if last in node and not isinstance(node[last], dict):
        existing = node[last]
        node[last] = [*existing, value] if isinstance(existing, list) else [existing, value]
    else:
        node[last] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


# --- the simple `filters` object of the list endpoints (publications, redemptions) ----------

FILTER_OPERATORS = {"$is": "is", "$is_not": "is_not", "$in": "in", "$not_in": "not_in"}
Condition = tuple[str, str, Sequence[str]]


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    """A plain string query parameter; absent or empty is None."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidQueryParams(f"Property .{name} must be a string")
    return value


def _filter_values(raw: Any, name: str) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, dict):  # $in[0]=a&$in[1]=b
        raw = list(raw.values())
    if isinstance(raw, list) and raw and all(isinstance(v, str) for v in raw):
        return raw
    raise InvalidQueryParams(f"Property .filters.{name} must hold strings")


def simple_filters(
    raw: Any,
    fields: Collection[str],
    *,
    values_of: Callable[[str, list[str]], list[str]] = lambda _field, values: values,
) -> list[Condition]:
    """`filters[field][conditions][$is|$is_not|$in|$not_in]=…` joined by AND, as
    (field, operator, values); `values_of` may map a field's values to stored ones."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise InvalidQueryParams("Property .filters must be an object")
    out: list[Condition] = []
    for field, spec in raw.items():
        if field == "junction":
            if spec not in ("and", "AND"):
                raise InvalidQueryParams("Property .filters.junction: only `and` is supported")
            continue
        if field not in fields:
            raise InvalidQueryParams(f"Property .filters.{field} is not a supported filter")
        conditions = spec.get("conditions") if isinstance(spec, dict) else None
        if not isinstance(conditions, dict) or not conditions:
            raise InvalidQueryParams(f"Property .filters.{field}.conditions is required")
        for operator, value in conditions.items():
            if operator not in FILTER_OPERATORS:
                raise InvalidQueryParams(
                    f"Property .filters.{field}.conditions: {operator} is not supported"
                )
            values = values_of(field, _filter_values(value, field))
            out.append((field, FILTER_OPERATORS[operator], values))
    return out
