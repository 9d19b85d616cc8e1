"""Wire structs for orders (names and shapes from the Voucherify spec, orders.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from patrons.core.limits import SOURCE_ID_MAX
from patrons.customers.schemas import CustomerCreate

OrderStatus = Literal["CREATED", "PAID", "CANCELED", "FULFILLED"]
STATUSES: tuple[str, ...] = ("CREATED", "PAID", "CANCELED", "FULFILLED")
# Only these count in the customer's summary.orders (WIRE-FORMAT §3.1).
COUNTED = ("PAID", "FULFILLED")
MAX_ITEMS = 500  # "It can include up to 500 items."
# Amounts and quantities fit a BIGINT with room for sums: 10^15 cents is ten trillion.
Amount = Annotated[int, Meta(ge=0, le=10**15)]
Quantity = Annotated[int, Meta(ge=0, le=10**9)]
SourceId = Annotated[str, Meta(max_length=SOURCE_ID_MAX)]


class OrderItemWrite(Struct, kw_only=True):
    """One line of an order; the numbers are typed (bad ones are a 400), the rest kept."""

    sku_id: str | UnsetType | None = UNSET
    product_id: str | UnsetType | None = UNSET
    related_object: Literal["product", "sku"] | UnsetType | None = UNSET
    source_id: SourceId | UnsetType | None = UNSET
    quantity: Quantity | UnsetType | None = UNSET
    discount_quantity: Quantity | UnsetType | None = UNSET
    initial_quantity: Quantity | UnsetType | None = UNSET
    amount: Amount | UnsetType | None = UNSET
    discount_amount: Amount | UnsetType | None = UNSET
    initial_amount: Amount | UnsetType | None = UNSET
    price: Amount | UnsetType | None = UNSET
    product: dict[str, Any] | UnsetType | None = UNSET
    sku: dict[str, Any] | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET


class OrderWrite(Struct, kw_only=True):
    """OrdersCreateRequestBody / OrdersUpdateRequestBody, and the `order` of a validation or
    redemption (which may name a stored order by `id` or `source_id`). Absent (UNSET) keeps,
    null clears where clearing means something; unknown fields (e.g. `currency`) are ignored."""

    id: SourceId | UnsetType | None = UNSET
    source_id: SourceId | UnsetType | None = UNSET
    status: OrderStatus | UnsetType | None = UNSET
    amount: Amount | UnsetType | None = UNSET
    initial_amount: Amount | UnsetType | None = UNSET
    discount_amount: Amount | UnsetType | None = UNSET
    items: list[OrderItemWrite] | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    created_at: str | UnsetType | None = UNSET
    customer_id: str | UnsetType | None = UNSET
    customer: CustomerCreate | UnsetType | None = UNSET
    referrer_id: str | UnsetType | None = UNSET
    referrer: CustomerCreate | UnsetType | None = UNSET


class ObjectRef(Struct):
    id: str
    object: str = "customer"


class Order(Struct, kw_only=True):
    """OrderCalculated: the stored order with its computed amounts. The `applied_*` amounts
    are set only in a validation's or redemption's answer (what that request applied)."""

    id: str | UnsetType = UNSET  # UNSET: an order a validation computed but did not store
    source_id: str | None = None
    created_at: str | UnsetType = UNSET
    updated_at: str | None = None
    status: str
    amount: int | UnsetType = UNSET
    initial_amount: int | UnsetType = UNSET
    discount_amount: int | UnsetType = UNSET
    items_discount_amount: int | UnsetType = UNSET
    total_discount_amount: int | UnsetType = UNSET
    total_amount: int | UnsetType = UNSET
    applied_discount_amount: int | UnsetType = UNSET
    items_applied_discount_amount: int | UnsetType = UNSET
    total_applied_discount_amount: int | UnsetType = UNSET
    items: Raw | UnsetType = UNSET
    metadata: Raw
    customer: ObjectRef | UnsetType = UNSET
    customer_id: str | None = None
    referrer: ObjectRef | UnsetType = UNSET
    referrer_id: str | None = None
    redemptions: Raw | UnsetType = UNSET
    object: str = "order"


class OrderList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "orders"
    orders: list[Order]
    total: int
