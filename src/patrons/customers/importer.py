"""CSV import: header → column mapping, and each data row → a full-overwrite RowWrite.

Standard headers are matched case-insensitively, in both spellings Voucherify documents
(`Address_City` / `City`, …); every other column becomes a string `metadata` key. A matched
customer is fully overwritten (empty cells clear fields), as Voucherify's import does.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from patrons.core import limits
from patrons.core.errors import InvalidPayload
from patrons.customers.bulk_repository import WRITABLE
from patrons.customers.bulk_writer import RowWrite
from patrons.customers.wire import address_mask

_STANDARD = {
    "source_id": "source_id",
    "name": "name",
    "email": "email",
    "phone": "phone",
    "birthdate": "birthdate",
    "birthday": "birthday",
    "description": "description",
    "address_line_1": "address_line_1",
    "address_line_2": "address_line_2",
    "address_postal_code": "address_postal_code",
    "postal_code": "address_postal_code",
    "address_city": "address_city",
    "city": "address_city",
    "address_state": "address_state",
    "state": "address_state",
    "address_country": "address_country",
    "country": "address_country",
}
# `Id` is accepted and ignored: rows are matched by Source_id (see README, deviations).
_IGNORED = {"id"}
_ADDRESS = (
    "address_line_1",
    "address_line_2",
    "address_postal_code",
    "address_city",
    "address_state",
    "address_country",
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Mapping = list[tuple[str, str]]  # per column: ("column", name) | ("metadata", key) | ("skip", "")


def map_header(header: list[str]) -> Mapping:
    """Validate the header row; raises InvalidPayload (the upload is refused, no job made)."""
    if header:
        header = [header[0].lstrip("\ufeff"), *header[1:]]
    names = [h.strip() for h in header]
    if not names or not any(names):
        raise InvalidPayload("CSV file must start with a header row")
    if len(names) > limits.CSV_COLUMNS_MAX:
        raise InvalidPayload(f"CSV header must NOT have more than {limits.CSV_COLUMNS_MAX} columns")
    mapping: Mapping = []
    seen: set[str] = set()
    for name in names:
        if not name:
            raise InvalidPayload("CSV header has an empty column name")
        if re.search(r"\s", name):
            raise InvalidPayload(f"CSV header {name!r} must not contain spaces")
        lowered = name.lower()
        if lowered in seen:
            raise InvalidPayload(f"CSV header {name!r} appears more than once")
        seen.add(lowered)
        if lowered in _IGNORED:
            mapping.append(("skip", ""))
        elif lowered in _STANDARD:
            mapping.append(("column", _STANDARD[lowered]))
        else:
            mapping.append(("metadata", name))
    targets = [t for kind, t in mapping if kind == "column"]
    if len(targets) != len(set(targets)):
        raise InvalidPayload("CSV header names the same field twice (e.g. City and Address_City)")
    return mapping


def to_row_write(mapping: Mapping, fields: list[str], row_no: int) -> RowWrite | str:
    """A data row → RowWrite, or the reason it is rejected."""
    if len(fields) != len(mapping):
        return f"row has {len(fields)} columns but the header has {len(mapping)}"
    changes: dict[str, Any] = dict.fromkeys(WRITABLE)
    metadata: dict[str, str] = {}
    source_id: str | None = None
    for (kind, target), value in zip(mapping, fields, strict=True):
        if kind == "column":
            if target == "source_id":
                source_id = value if value.strip() else None  # kept as sent, like JSON
            else:
                changes[target] = value if value != "" else None
        elif kind == "metadata" and value != "":
            metadata[target] = value
    for column in ("birthdate", "birthday"):
        value = changes[column]
        if value is not None:
            value = value.strip()
            if not _DATE.match(value) or not _valid_date(value):
                return (
                    f"{column}: must be a date in the format YYYY-MM-DD (actual value is {value!r})"
                )
            changes[column] = value
    filled = [c for c in _ADDRESS if changes[c] is not None]
    changes["address_set"] = bool(filled)
    # A CSV row replaces the customer: its address carries the address columns it fills.
    changes["address_keys"] = address_mask(filled)
    changes["metadata"] = metadata
    return RowWrite(row_no=row_no, source_id=source_id, changes=changes)


def _valid_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
