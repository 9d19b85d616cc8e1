"""Database row (or event snapshot) → the wire Customer.

One renderer (`_render`) takes the row's values positionally; every way in goes through it,
so a single customer, a list page and an event snapshot cannot render differently. A row
read with `SELECT <repository.COLUMNS>` is unpacked straight into it (its column order is
checked once per column list, not per row); any other mapping is read by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from patrons.core.clock import format_ms
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

# What `_render` takes, in its parameter order. The first ones are a customer read's columns
# in table order; the holdings and `system_metadata` may be absent (event snapshots).
RENDERED = (
    *("id", "source_id", "name", "description", "email", "phone", "birthdate", "birthday"),
    "address_set",
    *ADDRESS_COLUMNS,
    *("metadata", "created_at", "updated_at", "address_keys"),
    *("summary", "loyalty", "referrals", "system_metadata"),
)
_OPTIONAL = frozenset(("address_keys", "summary", "loyalty", "referrals", "system_metadata"))


def address_mask(columns: Iterable[str]) -> int:
    """The `address_keys` value for these address columns."""
    mask = 0
    for column in columns:
        mask |= ADDRESS_BITS[column]
    return mask


# Formatted timestamps, per process: a page read again (or a customer read twice) formats
# nothing. Bounded: emptied when full.
_STAMPS: dict[int, str] = {}
_STAMPS_MAX = 200_000


def _stamp(ms: int) -> str:
    text = _STAMPS.get(ms)
    if text is None:
        if len(_STAMPS) >= _STAMPS_MAX:
            _STAMPS.clear()
        text = _STAMPS[ms] = format_ms(ms)
    return text


def _json(value: Any, empty: Raw) -> Raw:
    """A JSON column (text as stored; an event snapshot's decoded value), `empty` for NULL."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        return Raw(value.encode())
    return Raw(msgspec.json.encode(value))


def _metadata(value: Any) -> Raw | UnsetType:
    """Stored metadata, or UNSET (left out) while it is empty: never set, or emptied."""
    if isinstance(value, str):
        return UNSET if value in _EMPTY_TEXTS else Raw(value.encode())
    # a snapshot decoded from JSON carries metadata as an object
    return Raw(msgspec.json.encode(value)) if value else UNSET


_EMPTY_TEXTS = frozenset(("", "{}"))
_ADDRESS_BIT_LIST = tuple(ADDRESS_BITS.values())


def _render(
    id: str,
    source_id: str | None,
    name: str | None,
    description: str | None,
    email: str | None,
    phone: str | None,
    birthdate: str | None,
    birthday: str | None,
    address_set: Any,
    city: str | None,
    state: str | None,
    line_1: str | None,
    line_2: str | None,
    country: str | None,
    postal_code: str | None,
    metadata: Any,
    created_at: int,
    updated_at: int | None,
    address_keys: int | None = None,
    summary: Any = None,
    loyalty: Any = None,
    referrals: Any = None,
    system_metadata: Any = None,
) -> Customer:
    address: Address | None = None
    if address_set:
        if address_keys is None or address_keys == ALL_ADDRESS_KEYS:
            address = Address(city, state, line_1, line_2, country, postal_code)
        else:
            values = (city, state, line_1, line_2, country, postal_code)
            kept = zip(values, _ADDRESS_BIT_LIST, strict=True)
            address = Address(*(v if address_keys & bit else UNSET for v, bit in kept))
    return Customer(
        id=id,
        source_id=source_id,
        name=UNSET if name is None else name,
        description=UNSET if description is None else description,
        email=UNSET if email is None else email,
        phone=UNSET if phone is None else phone,
        birthdate=birthdate,
        birthday=birthday,
        address=address,
        summary=EMPTY_SUMMARY if summary is None else _json(summary, EMPTY_SUMMARY),
        loyalty=EMPTY_LOYALTY if loyalty is None else _json(loyalty, EMPTY_LOYALTY),
        referrals=EMPTY_REFERRALS if referrals is None else _json(referrals, EMPTY_REFERRALS),
        metadata=(
            (UNSET if metadata in _EMPTY_TEXTS else Raw(metadata.encode()))
            if type(metadata) is str
            else _metadata(metadata)
        ),
        system_metadata=(
            EMPTY_OBJECT if system_metadata is None else _json(system_metadata, EMPTY_OBJECT)
        ),
        created_at=_STAMPS.get(created_at) or _stamp(created_at),
        updated_at=None if updated_at is None else (_STAMPS.get(updated_at) or _stamp(updated_at)),
    )


def _by_name(row: Mapping[str, Any]) -> Customer:
    """Any mapping (an event snapshot, a row of another SELECT): absent columns are NULL
    (`address_keys`: all six keys, as before the column)."""
    values = []
    for name in RENDERED:
        try:
            values.append(row[name])
        except (KeyError, IndexError):  # sqlite3.Row raises IndexError for an unknown name
            if name not in _OPTIONAL:
                raise
            values.append(None)
    return _render(*values)


# Per column list of a row type: how to take its values in RENDERED order (None: by name).
_PLANS: dict[tuple[str, ...], Any] = {}


def _plan(keys: tuple[str, ...]) -> Any:
    plan = _PLANS.get(keys)
    if plan is None:
        if keys == RENDERED[: len(keys)] and len(keys) >= RENDERED.index("updated_at") + 1:
            plan = "positional"  # the row unpacks straight into _render
        elif set(RENDERED) - _OPTIONAL <= set(keys):
            present = [n for n in RENDERED if n in keys]
            if present == list(RENDERED[: len(present)]):
                plan = itemgetter(*(keys.index(n) for n in present))
        if plan is None:
            plan = "by_name"
        if len(_PLANS) < 64:
            _PLANS[keys] = plan
    return plan


def _keys(row: Any) -> tuple[str, ...] | None:
    keys = getattr(row, "keys", None)
    return None if keys is None else tuple(keys())


def customer_to_wire(row: Mapping[str, Any]) -> Customer:
    if isinstance(row, dict):
        return _by_name(row)
    return rows_to_wire((row,))[0]


def rows_to_wire(rows: Sequence[Any], columns: tuple[str, ...] | None = None) -> list[Customer]:
    """Rows of one SELECT (sqlite3.Row or asyncpg Record, the same columns each). `columns`:
    the SELECT's column names in order, when the caller knows them (saves asking a row)."""
    if not rows:
        return []
    first = rows[0]
    keys = columns if columns is not None else None if isinstance(first, dict) else _keys(first)
    plan: Any = "by_name" if keys is None else _plan(keys)
    if plan == "positional":
        return [_render(*row) for row in rows]
    if plan == "by_name":
        return [_by_name(row) for row in rows]
    return [_render(*plan(row)) for row in rows]
