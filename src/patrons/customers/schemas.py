"""Wire structs for customers (names and shapes from the Voucherify spec)."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

OptStr = str | None | UnsetType
OptDate = date | None | UnsetType

ADDRESS_FIELDS = ("city", "state", "line_1", "line_2", "country", "postal_code")
# Columns that map one-to-one onto a CustomerBase field.
SCALAR_FIELDS = ("name", "description", "email", "phone", "birthdate", "birthday")


class AddressWrite(Struct):
    city: OptStr = UNSET
    state: OptStr = UNSET
    line_1: OptStr = UNSET
    line_2: OptStr = UNSET
    country: OptStr = UNSET
    postal_code: OptStr = UNSET


class CustomerUpdate(Struct):
    """CustomerBase: every field optional; absent (UNSET) keeps, explicit null clears."""

    name: OptStr = UNSET
    description: OptStr = UNSET
    email: OptStr = UNSET
    phone: OptStr = UNSET
    birthdate: OptDate = UNSET
    birthday: OptDate = UNSET
    address: AddressWrite | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET


class CustomerCreate(CustomerUpdate):
    id: OptStr = UNSET
    source_id: OptStr = UNSET


class Address(Struct):
    """The keys that were sent, with their last values (null included); the rest left out."""

    city: str | UnsetType | None = UNSET
    state: str | UnsetType | None = UNSET
    line_1: str | UnsetType | None = UNSET
    line_2: str | UnsetType | None = UNSET
    country: str | UnsetType | None = UNSET
    postal_code: str | UnsetType | None = UNSET


def _raw(value: Any) -> Raw:
    return Raw(msgspec.json.encode(value))


def summary_of(*, gift_to_go: int = 0, points_to_go: int = 0) -> dict[str, Any]:
    """The customer's `summary` (WIRE-FORMAT §3.1): no redemptions or orders are kept yet, so
    only the balances still to spend on held gift and loyalty cards vary."""
    return {
        "redemptions": {
            "total_redeemed": 0,
            "total_failed": 0,
            "total_succeeded": 0,
            "total_rolled_back": 0,
            "total_rollback_failed": 0,
            "total_rollback_succeeded": 0,
            "gift": {"redeemed_amount": 0, "amount_to_go": gift_to_go},
            "loyalty_card": {"redeemed_points": 0, "points_to_go": points_to_go},
        },
        "orders": {
            "total_amount": 0,
            "total_count": 0,
            "average_amount": 0,
            "last_order_amount": 0,
        },
    }


# A customer with no redemptions, orders or loyalty holdings (WIRE-FORMAT §3.1).
EMPTY_SUMMARY = _raw(summary_of())
EMPTY_LOYALTY = _raw({"points": 0, "referred_customers": 0, "campaigns": {}})
EMPTY_REFERRALS = _raw({"total": 0, "campaigns": []})
EMPTY_OBJECT = Raw(b"{}")


class Customer(Struct, kw_only=True):
    """The customer object (WIRE-FORMAT §3.1). UNSET fields are left out of the JSON: the docs
    spec makes `name`, `description`, `email` and `phone` non-nullable strings, so an unset
    one is omitted rather than sent as null, and `metadata` is absent until the customer has
    some (the official JS suite checks a fresh customer has no `metadata` key)."""

    id: str
    source_id: str | None
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    birthdate: str | None
    birthday: str | None
    address: Address | None
    summary: Raw
    loyalty: Raw
    referrals: Raw
    metadata: Raw | UnsetType = UNSET
    system_metadata: Raw
    created_at: str
    updated_at: str | None
    object: str = "customer"


class CustomerList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "customers"
    customers: list[Customer]
    total: int
    has_more: bool
