"""The customer an order, validation or redemption names: by id (must exist), by source_id
(created when new, updated when profile fields come along) or by profile fields alone (a new
customer). Written through customers' service, so its events and segments follow."""

from __future__ import annotations

from msgspec import UNSET

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db.database import Conn, Row


def has_profile_data(customer: CustomerCreate) -> bool:
    return any(
        getattr(customer, f) is not UNSET
        for f in customer.__struct_fields__
        if f not in ("id", "source_id")
    )


async def resolve(
    conn: Conn, *, project_id: str, customer: CustomerCreate, origin: Origin
) -> Row | None:
    """The customer row, or None when `customer` names nobody and carries no data."""
    if isinstance(customer.id, str) and customer.id:
        row = await customers.resolve(conn, project_id=project_id, ref=customer.id)
        if row is None or row["id"] != customer.id:
            raise NotFound("customer", customer.id)
        if not has_profile_data(customer):
            return row
        await customers.upsert(conn, project_id=project_id, body=customer, origin=origin)
        return await customers.get_or_raise(conn, project_id=project_id, ref=customer.id)
    if isinstance(customer.source_id, str) and customer.source_id:
        source_id = customer.source_id
        row = await customers.resolve(conn, project_id=project_id, ref=source_id)
        if row is not None and row["source_id"] == source_id and not has_profile_data(customer):
            return row
    elif not has_profile_data(customer):
        return None
    wire = await customers.upsert(conn, project_id=project_id, body=customer, origin=origin)
    return await customers.get_or_raise(conn, project_id=project_id, ref=wire.id)


async def by_id(conn: Conn, *, project_id: str, customer_id: str) -> Row:
    """A `customer_id` field: an existing customer's id (or source_id)."""
    return await customers.get_or_raise(conn, project_id=project_id, ref=customer_id)
