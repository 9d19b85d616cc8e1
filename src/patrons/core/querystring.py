"""Query-string parsing for every form the SDKs send (WIRE-FORMAT §1).

Keys arrive raw (`created_at[before]`) or percent-encoded (`created_at%5Bbefore%5D`); deep
objects arrive as `filters[a][conditions][$in][0]=x`. The query string is decoded once into a
nested dict; leaves are strings, repeated or indexed keys become lists.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

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
