"""Database row (or event snapshot) → the wire Customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import Raw

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


def _holding(row: Mapping[str, Any], column: str, empty: Raw) -> Raw:
    """A holdings column (NULL while the customer holds nothing; absent from snapshots)."""
    try:
        value = row[column]
    except (KeyError, IndexError):  # sqlite3.Row raises IndexError for an unknown name
        return empty
    return raw_json(value) or empty


def customer_to_wire(row: Mapping[str, Any]) -> Customer:
    updated_at = row["updated_at"]
    metadata = row["metadata"]
    if isinstance(metadata, str):
        metadata_raw = Raw(metadata.encode()) if metadata else EMPTY_OBJECT
    else:  # a snapshot decoded from JSON carries metadata as an object
        metadata_raw = Raw(msgspec.json.encode(metadata or {}))
    return Customer(
        id=row["id"],
        source_id=row["source_id"],
        name=row["name"],
        description=row["description"],
        email=row["email"],
        phone=row["phone"],
        birthdate=row["birthdate"],
        birthday=row["birthday"],
        address=Address(*(row[c] for c in ADDRESS_COLUMNS)) if row["address_set"] else None,
        summary=_holding(row, "summary", EMPTY_SUMMARY),
        loyalty=_holding(row, "loyalty", EMPTY_LOYALTY),
        referrals=_holding(row, "referrals", EMPTY_REFERRALS),
        metadata=metadata_raw,
        system_metadata=EMPTY_OBJECT,
        created_at=format_ms(row["created_at"]),
        updated_at=None if updated_at is None else format_ms(updated_at),
    )
