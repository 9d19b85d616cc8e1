"""The customer another resource's body names — an order, a redemption, a publication.

By `id` (it must exist), by `source_id` (created when new) or, with neither, by profile fields
alone (a new customer); profile fields sent along update the customer, as Voucherify does.
Writes go through `service.upsert`, so events and segment upkeep follow as for
POST /v1/customers. One place, so every resource names customers the same way.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.customers import service
from patrons.customers.schemas import CustomerCreate
from patrons.db.database import Conn, Row


def has_profile_data(customer: CustomerCreate, besides: tuple[str, ...] = ()) -> bool:
    return any(
        getattr(customer, f) is not UNSET
        for f in customer.__struct_fields__
        if f not in ("id", "source_id", *besides)
    )


async def _upserted(conn: Conn, *, project_id: str, body: CustomerCreate, origin: Origin) -> Row:
    wire = await service.upsert(conn, project_id=project_id, body=body, origin=origin)
    return await service.get_or_raise(conn, project_id=project_id, ref=wire.id)


async def resolve_named(
    conn: Conn, *, project_id: str, customer: CustomerCreate, origin: Origin
) -> Row | None:
    """The customer row, or None when `customer` names nobody and carries no data."""
    if isinstance(customer.id, str) and customer.id:
        row = await service.resolve(conn, project_id=project_id, ref=customer.id)
        if row is None or row["id"] != customer.id:
            raise NotFound("customer", customer.id)
        if not has_profile_data(customer):
            return row
        return await _upserted(conn, project_id=project_id, body=customer, origin=origin)
    if isinstance(customer.source_id, str) and customer.source_id:
        row = await service.resolve(conn, project_id=project_id, ref=customer.source_id)
        if row is not None and row["source_id"] == customer.source_id:  # noqa: SIM102
            if not has_profile_data(customer):  # no profile fields: nothing to write
                return row
    elif not has_profile_data(customer):
        return None
    return await _upserted(conn, project_id=project_id, body=customer, origin=origin)


async def resolve_by_email(
    conn: Conn, *, project_id: str, customer: CustomerCreate, origin: Origin
) -> Row:
    """A customer given by `email` alone: the live customer with that e-mail
    (case-insensitively; the oldest if several), updated with any other profile fields sent;
    else a new customer without source_id holding that e-mail."""
    assert isinstance(customer.email, str)
    row = await service.resolve_by_email(conn, project_id=project_id, email=customer.email)
    if row is None:
        return await _upserted(conn, project_id=project_id, body=customer, origin=origin)
    if not has_profile_data(customer, besides=("email",)):
        return row
    body = msgspec.structs.replace(customer, id=row["id"], email=UNSET)
    return await _upserted(conn, project_id=project_id, body=body, origin=origin)
