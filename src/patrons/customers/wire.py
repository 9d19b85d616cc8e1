"""Database row (or event snapshot) → the wire Customer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from patrons.core.clock import format_ms
from patrons.core.jsonraw import raw_json
from patrons.customers.schemas import (
    ADDRESS_FIELDS,
    EMPTY_LOYALTY,
    EMPTY_OBJECT,
    EMPTY_REFERRALS,
    EMPTY_SUMMARY,
    Address,
    Customer,
)

ADDRESS_COLUMNS = tuple(f"address_{name}" for name in ADDRESS_FIELDS)
# `address_keys` bits: bit i set = ADDRESS_FIELDS[i] was sent. All six: rows (and event
# snapshots) from before the column.
ADDRESS_BITS = {column: 1 << i for i, column in enumerate(ADDRESS_COLUMNS)}
ALL_ADDRESS_KEYS = (1 << len(ADDRESS_COLUMNS)) - 1


def address_mask(columns: Iterable[str]) -> int:
    """The `address_keys` value for these address columns."""
    mask = 0
    for column in columns:
        mask |= ADDRESS_BITS[column]
    return mask


def _address(row: Mapping[str, Any]) -> Address:
    try:
        mask = row["address_keys"]
    except (KeyError, IndexError):  # a snapshot from before the column
        mask = ALL_ADDRESS_KEYS
    if mask == ALL_ADDRESS_KEYS:
        return Address(*(row[c] for c in ADDRESS_COLUMNS))
    return Address(*(row[c] if mask & bit else UNSET for c, bit in ADDRESS_BITS.items()))


def _holding(row: Mapping[str, Any], column: str, empty: Raw) -> Raw:
    """A holdings column (NULL while the customer holds nothing; absent from snapshots)."""
    try:
        value = row[column]
    except (KeyError, IndexError):  # sqlite3.Row raises IndexError for an unknown name
        return empty
    return raw_json(value) or empty


def _text(value: str | None) -> str | UnsetType:
    return UNSET if value is None else value


def _metadata(value: Any) -> Raw | UnsetType:
    """Stored metadata, or UNSET (left out) while it is empty: never set, or emptied."""
    if isinstance(value, str):
        return UNSET if value in _EMPTY_TEXTS else Raw(value.encode())
    # a snapshot decoded from JSON carries metadata as an object
    return Raw(msgspec.json.encode(value)) if value else UNSET


_EMPTY_TEXTS = frozenset(("", "{}"))


def customer_to_wire(row: Mapping[str, Any]) -> Customer:
    updated_at = row["updated_at"]
    return Customer(
        id=row["id"],
        source_id=row["source_id"],
        name=_text(row["name"]),
        description=_text(row["description"]),
        email=_text(row["email"]),
        phone=_text(row["phone"]),
        birthdate=row["birthdate"],
        birthday=row["birthday"],
        address=_address(row) if row["address_set"] else None,
        summary=_holding(row, "summary", EMPTY_SUMMARY),
        loyalty=_holding(row, "loyalty", EMPTY_LOYALTY),
        referrals=_holding(row, "referrals", EMPTY_REFERRALS),
        metadata=_metadata(row["metadata"]),
        system_metadata=_holding(row, "system_metadata", EMPTY_OBJECT),
        created_at=format_ms(row["created_at"]),
        updated_at=None if updated_at is None else format_ms(updated_at),
    )
