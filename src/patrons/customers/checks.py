"""A customer write against the field limits (core/limits.py), before any SQL sees it.

One check for every path: the single-customer API raises 400 with it, bulk and metadata jobs
and CSV imports turn it into a per-row failure. It works on the column changes every path
produces (`service.column_changes`, `importer.to_row_write`).
"""

from __future__ import annotations

from typing import Any

from patrons.core import limits

# Column → the wire name the limits (and the messages) use.
_TEXT_COLUMNS = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "description": "description",
    "address_city": "address.city",
    "address_state": "address.state",
    "address_line_1": "address.line_1",
    "address_line_2": "address.line_2",
    "address_country": "address.country",
    "address_postal_code": "address.postal_code",
}


_TEXT_LIMITS = tuple(
    (column, field, limits.FIELD_MAX[field])
    for column, field in _TEXT_COLUMNS.items()
    if field in limits.FIELD_MAX
)


def problem(changes: dict[str, Any], *, source_id: Any = None) -> str | None:
    """Why these column changes (and source_id) break a limit, or None: the first one found."""
    if isinstance(source_id, str):
        found = limits.text_problem("source_id", source_id)
        if found:
            return found
    get = changes.get
    for column, field, limit in _TEXT_LIMITS:  # inline: it runs for every row of an import
        value = get(column)
        if isinstance(value, str) and len(value) > limit:
            return limits.too_long(field, value, limit)
    return limits.metadata_problem(get("metadata"))


def as_property(reason: str) -> str:
    """`name: must NOT …` → `Property .name must NOT …`: the 400 `details` style."""
    field, _, rest = reason.partition(": ")
    return f"Property .{field} {rest}"
