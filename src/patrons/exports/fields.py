"""What an export file holds: each exported object's fields (the CSV columns), their defaults
and sort orders, and how a stored row becomes one CSV line.

Field names are the spec's (exports.json `ExportCustomerFields`, `ExportVoucherFields`), plus
`metadata.<key>` for one metadata key. The header row is the field names as requested.
Dates are ISO 8601 in UTC with milliseconds, as every response. Cells are escaped against
formula injection: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading `'`, so a spreadsheet shows it as text instead of evaluating it (OWASP's
advice). Numbers Patrons writes itself (amounts, counts) are not text and are left alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from patrons.core.clock import format_ms

Cell = str | int | float | None
Getter = Callable[[Mapping[str, Any]], Cell]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _json(value: Any) -> Any:
    """A stored JSON column (text on SQLite and from asyncpg; decoded when already an object)."""
    if value is None or isinstance(value, dict | list):
        return value
    try:
        return msgspec.json.decode(value)
    except msgspec.DecodeError:
        return None


def _column(name: str) -> Getter:
    return lambda row: row[name]


def _time(name: str) -> Getter:
    def get(row: Mapping[str, Any]) -> Cell:
        value = row[name]
        return None if value is None else format_ms(value)

    return get


def _path(column: str, *keys: str, default: Cell = 0) -> Getter:
    """A value inside a stored JSON column; `default` while the column is NULL (holds nothing)."""

    def get(row: Mapping[str, Any]) -> Cell:
        value: Any = _json(row[column])
        if value is None:
            return default
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return _scalar(value) if value is not None else default

    return get


def _scalar(value: Any) -> Cell:
    """A JSON value as one cell: strings and numbers as they are, true/false, others as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return msgspec.json.encode(value).decode()


def _whole_metadata(row: Mapping[str, Any]) -> Cell:
    value = _json(row["metadata"])
    return msgspec.json.encode(value).decode() if value else None


def metadata_key(key: str) -> Getter:
    def get(row: Mapping[str, Any]) -> Cell:
        value = _json(row["metadata"])
        return _scalar(value.get(key)) if isinstance(value, dict) else None

    return get


def _address(name: str) -> Getter:
    column = f"address_{name}"
    return lambda row: row[column] if row["address_set"] else None


_REDEMPTIONS = (
    "total_redeemed",
    "total_failed",
    "total_succeeded",
    "total_rolled_back",
    "total_rollback_failed",
    "total_rollback_succeeded",
)
_ORDERS = ("total_amount", "total_count", "average_amount", "last_order_amount")

CUSTOMER_FIELDS: dict[str, Getter] = {
    "name": _column("name"),
    "id": _column("id"),
    "description": _column("description"),
    "email": _column("email"),
    "source_id": _column("source_id"),
    "created_at": _time("created_at"),
    **{
        f"address_{p}": _address(p)
        for p in ("city", "state", "line_1", "line_2", "country", "postal_code")
    },
    **{f"redemptions_{k}": _path("summary", "redemptions", k) for k in _REDEMPTIONS},
    **{f"orders_{k}": _path("summary", "orders", k) for k in _ORDERS},
    "orders_last_order_date": _path("summary", "orders", "last_order_date", default=None),
    "loyalty_points": _path("loyalty", "points"),
    "loyalty_referred_customers": _path("loyalty", "referred_customers"),
    "updated_at": _time("updated_at"),
    "phone": _column("phone"),
    "birthday": _column("birthday"),
    "metadata": _whole_metadata,
    "birthdate": _column("birthdate"),
}


def _discount(*keys: str) -> Getter:
    return _path("discount", *keys, default=None)


def _value(row: Mapping[str, Any]) -> Cell:
    """The spec's `value`: a discount's amount, percent or units; a gift card's amount left to
    spend; a loyalty card's points left."""
    kind = row["type"]
    if kind == "GIFT_VOUCHER":
        return row["gift_balance"] or 0
    if kind == "LOYALTY_CARD":
        return row["loyalty_balance"] or 0
    discount = _json(row["discount"]) or {}
    for key in ("amount_off", "percent_off", "unit_off", "fixed_amount"):
        if discount.get(key) is not None:
            return _scalar(discount[key])
    return None


def _flag(name: str) -> Getter:
    return lambda row: "true" if row[name] else "false"


def _timeframe(key: str) -> Getter:
    return _path("validity_timeframe", key, default=None)


def _days(row: Mapping[str, Any]) -> Cell:
    days = _json(row["validity_day_of_week"])
    return ",".join(str(d) for d in days) if isinstance(days, list) and days else None


def _nothing(row: Mapping[str, Any]) -> Cell:
    """Fields of the spec that Patrons keeps no data for (QR/bar code images, formulas,
    validation rules): an empty column, so a client's field list still works."""
    return None


VOUCHER_FIELDS: dict[str, Getter] = {
    "code": _column("code"),
    "voucher_type": _column("type"),
    "value": _value,
    "formula": _nothing,
    "discount_type": _discount("type"),
    "campaign": _column("campaign_name"),
    "category": _column("category"),
    "start_date": _time("start_date"),
    "expiration_date": _time("expiration_date"),
    "gift_balance": _column("gift_balance"),
    "loyalty_balance": _column("loyalty_balance"),
    "redemption_quantity": _column("redemption_quantity"),
    "redemption_count": _column("redeemed_quantity"),
    "active": _flag("active"),
    "qr_code": _nothing,
    "bar_code": _nothing,
    "metadata": _whole_metadata,
    "id": _column("id"),
    "is_referral_code": _flag("is_referral_code"),
    "created_at": _time("created_at"),
    "updated_at": _time("updated_at"),
    "validity_timeframe_interval": _timeframe("interval"),
    "validity_timeframe_duration": _timeframe("duration"),
    "validity_day_of_week": _days,
    "discount_amount_limit": _discount("amount_limit"),
    "campaign_id": _column("campaign_id"),
    "additional_info": _column("additional_info"),
    "customer_id": _column("holder_id"),
    "discount_effect": _discount("effect"),
    "discount_unit_type": _discount("unit_type"),
    "discount_unit_effect": _discount("effect"),
    "validation_rules_id": _nothing,
    "customer_source_id": _column("customer_source_id"),
}


@dataclass(frozen=True, slots=True)
class Kind:
    """One exportable object."""

    name: str  # the `exported_object` value
    fields: Mapping[str, Getter]
    defaults: tuple[str, ...]  # the spec's "Default fields returned"
    orders: tuple[str, ...]  # accepted `order` values (each also with a leading `-`)
    default_order: str  # the order used when none is given
    personal: tuple[str, ...]  # fields that name a customer (see exports/erasure.py)


KINDS: dict[str, Kind] = {
    "customer": Kind(
        "customer",
        CUSTOMER_FIELDS,
        ("name", "source_id"),
        ("name", "id", "email", "source_id", "created_at", "updated_at"),
        "created_at",
        tuple(CUSTOMER_FIELDS),  # every column of a customer export is the customer's
    ),
    "voucher": Kind(
        "voucher",
        VOUCHER_FIELDS,
        ("code", "voucher_type", "value", "discount_type"),
        ("created_at", "updated_at", "code"),
        "created_at",
        ("customer_id", "customer_source_id"),
    ),
}


def getter(kind: Kind, field: str) -> Getter | None:
    if field.startswith("metadata.") and len(field) > len("metadata."):
        return metadata_key(field[len("metadata.") :])
    return kind.fields.get(field)


def escape(cell: Cell) -> Cell:
    """A text cell that a spreadsheet would read as a formula, made plain text."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


class Writer:
    """CSV lines for rows of one export (the header once, by `header()`)."""

    def __init__(self, kind: Kind, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        self._getters: list[Getter] = []
        for name in self.fields:
            got = getter(kind, name)
            if got is None:  # checked when the export was accepted: a hand-edited row
                raise ValueError(f"unknown field {name!r}")
            self._getters.append(got)
        self._out = io.StringIO()
        # CRLF, as RFC 4180 and spreadsheets expect; it also makes the writer quote a cell
        # holding a bare CR (with "\n" alone it would not, and readers would split the row).
        self._csv = csv.writer(self._out, lineterminator="\r\n")

    def header(self) -> bytes:
        self._csv.writerow([escape(f) for f in self.fields])
        return self._take()

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> bytes:
        write = self._csv.writerow
        for row in rows:
            write([escape(g(row)) for g in self._getters])
        return self._take()

    def _take(self) -> bytes:
        data = self._out.getvalue().encode()
        self._out.seek(0)
        self._out.truncate()
        return data
