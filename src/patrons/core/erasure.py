"""What every eraser of a permanent deletion is handed, and the JSON scrubbing they share.

The eraser registry lives in customers/erasure.py, but most packages that hold customer data
(activities, segments, async_actions, idempotency_keys) sit below customers and may not import
it; the subject they receive and the scrubbing rule they apply therefore live here, in core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec


def json_literal(value: str) -> str:
    """`value` as a JSON string literal, quotes included: how it appears in stored JSON."""
    return msgspec.json.encode(value).decode()


@dataclass(frozen=True, slots=True)
class Subject:
    """The person being erased, resolved by customers/erasure.py before any eraser runs."""

    target_id: str  # the customer the request named
    customer_ids: tuple[str, ...]  # the live row and every tombstone of the same person
    source_ids: tuple[str, ...]  # their source_id (at most one: tombstones share it)
    values: tuple[str, ...]  # exact values searched for: ids, source_ids, e-mail addresses
    # `values` as JSON string literals: what a text search of a stored JSON column looks for.
    needles: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needles", tuple(json_literal(v) for v in self.values))


def scrub(document: Any, values: set[str]) -> tuple[Any, bool]:
    """`document` without the person: list items mentioning a value are dropped, any other
    string equal to one becomes null. Returns the result and whether anything changed."""
    if isinstance(document, str):
        return (None, True) if document in values else (document, False)
    if isinstance(document, list):
        kept = [item for item in document if not _mentions(item, values)]
        changed = len(kept) != len(document)
        out = []
        for item in kept:
            clean, item_changed = scrub(item, values)
            out.append(clean)
            changed = changed or item_changed
        return out, changed
    if isinstance(document, dict):
        changed = False
        result = {}
        for key, item in document.items():
            result[key], item_changed = scrub(item, values)
            changed = changed or item_changed
        return result, changed
    return document, False


def scrub_column(stored: Any, values: set[str]) -> tuple[str | None, bool]:
    """A stored JSON column (text on SQLite, text or decoded on PostgreSQL) scrubbed and
    re-encoded as text for an UPDATE; whether anything changed."""
    document = msgspec.json.decode(stored) if isinstance(stored, str | bytes) else stored
    clean, changed = scrub(document, values)
    return (None if clean is None else msgspec.json.encode(clean).decode()), changed


def _mentions(document: Any, values: set[str]) -> bool:
    if isinstance(document, str):
        return document in values
    if isinstance(document, list):
        return any(_mentions(item, values) for item in document)
    if isinstance(document, dict):
        return any(_mentions(item, values) for item in document.values())
    return False
