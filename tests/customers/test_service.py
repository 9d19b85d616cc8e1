"""customers.service in process: upsert, update, delete, resolve (each test rolled back)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.customers import repository, service
from patrons.customers.schemas import CustomerCreate, CustomerUpdate
from patrons.db.database import Conn
from patrons.projects.service import Credentials
from tests.factories import add_customer

ORIGIN = Origin(request_id="v-test", app_id="app-test")


def update_body(**fields: Any) -> CustomerUpdate:
    return msgspec.convert(fields, CustomerUpdate)


async def event_types(conn: Conn, tenant: Credentials, customer_id: str) -> list[str]:
    """The customer's recorded event types, sorted (events of one millisecond have no order)."""
    rows = await conn.fetch(
        "SELECT type FROM customer_event WHERE project_id = $1 AND customer_id = $2",
        tenant.project_id,
        customer_id,
    )
    return sorted(row["type"] for row in rows)


async def live_count(conn: Conn, tenant: Credentials) -> int:
    return await repository.live_count(conn, project_id=tenant.project_id)


class TestUpsert:
    async def test_a_new_source_id_creates_a_customer(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="crm-1", email="ada@example.com")

        assert customer.id.startswith("cust_")
        assert (customer.source_id, customer.name, customer.email) == (
            "crm-1",
            "Ada Lovelace",
            "ada@example.com",
        )
        assert customer.updated_at is None
        assert await live_count(conn, tenant) == 1
        assert await event_types(conn, tenant, customer.id) == ["customer.created"]

    async def test_a_known_source_id_updates_that_customer(self, conn: Conn, tenant: Credentials):
        first = await add_customer(conn, tenant, source_id="crm-1", name="Ada")

        again = await add_customer(conn, tenant, source_id="crm-1", name="Ada King")

        assert again.id == first.id
        assert again.name == "Ada King"
        assert again.updated_at is not None
        assert await live_count(conn, tenant) == 1
        assert await event_types(conn, tenant, first.id) == [
            "customer.created",
            "customer.updated",
        ]

    async def test_no_source_id_creates_a_new_customer_each_time(
        self, conn: Conn, tenant: Credentials
    ):
        one = await add_customer(conn, tenant, source_id=None)
        two = await add_customer(conn, tenant, source_id=None)

        assert one.id != two.id
        assert one.source_id is None
        assert await live_count(conn, tenant) == 2

    async def test_an_id_updates_that_customer(self, conn: Conn, tenant: Credentials):
        first = await add_customer(conn, tenant, source_id="crm-1", phone="+1")

        again = await add_customer(conn, tenant, id=first.id, source_id=None, name="Renamed")

        assert again.id == first.id
        assert again.name == "Renamed"
        assert again.phone == "+1"  # absent: kept
        assert await live_count(conn, tenant) == 1

    async def test_an_unknown_id_is_not_found(self, conn: Conn, tenant: Credentials):
        body = CustomerCreate(id="cust_nobodyhere", name="x")

        with pytest.raises(NotFound):
            await service.upsert(conn, project_id=tenant.project_id, body=body, origin=ORIGIN)
        assert await live_count(conn, tenant) == 0

    async def test_the_same_source_id_in_two_projects_is_two_customers(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        mine = await add_customer(conn, tenant, source_id="crm-1")
        theirs = await add_customer(conn, other_tenant, source_id="crm-1")

        assert mine.id != theirs.id
        assert await live_count(conn, tenant) == 1
        assert await live_count(conn, other_tenant) == 1


class TestUpdate:
    async def test_absent_fields_are_kept_and_null_clears(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, email="a@example.com", phone="+44")

        updated = await service.update(
            conn,
            project_id=tenant.project_id,
            ref=customer.id,
            body=update_body(email=None),
            origin=ORIGIN,
        )

        assert updated.email is msgspec.UNSET  # left out of the JSON
        assert updated.phone == "+44"
        assert updated.name == "Ada Lovelace"
        assert updated.updated_at is not None

    async def test_address_merges_key_by_key(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, address={"city": "London", "country": "UK"})

        updated = await service.update(
            conn,
            project_id=tenant.project_id,
            ref=customer.id,
            body=update_body(address={"city": "Paris"}),
            origin=ORIGIN,
        )

        assert updated.address is not None
        assert (updated.address.city, updated.address.country) == ("Paris", "UK")

    async def test_null_address_clears_it(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, address={"city": "London"})

        updated = await service.update(
            conn,
            project_id=tenant.project_id,
            ref=customer.id,
            body=update_body(address=None),
            origin=ORIGIN,
        )

        assert updated.address is None

    async def test_metadata_is_replaced_whole(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, metadata={"a": 1, "b": 2})

        updated = await service.update(
            conn,
            project_id=tenant.project_id,
            ref=customer.id,
            body=update_body(metadata={"c": 3}),
            origin=ORIGIN,
        )

        assert msgspec.json.decode(updated.metadata) == {"c": 3}

    async def test_by_source_id(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="crm-7")

        updated = await service.update(
            conn,
            project_id=tenant.project_id,
            ref="crm-7",
            body=update_body(name="Seven"),
            origin=ORIGIN,
        )

        assert (updated.id, updated.name) == (customer.id, "Seven")
        assert await event_types(conn, tenant, customer.id) == [
            "customer.created",
            "customer.updated",
        ]

    async def test_an_unknown_ref_is_not_found(self, conn: Conn, tenant: Credentials):
        with pytest.raises(NotFound):
            await service.update(
                conn,
                project_id=tenant.project_id,
                ref="nobody",
                body=update_body(name="x"),
                origin=ORIGIN,
            )

    async def test_another_projects_customer_is_not_found(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        theirs = await add_customer(conn, other_tenant)

        with pytest.raises(NotFound):
            await service.update(
                conn,
                project_id=tenant.project_id,
                ref=theirs.id,
                body=update_body(name="x"),
                origin=ORIGIN,
            )


class TestDelete:
    async def test_the_customer_leaves_the_live_table(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="crm-1")

        await service.delete(conn, project_id=tenant.project_id, ref=customer.id, origin=ORIGIN)

        assert await service.resolve(conn, project_id=tenant.project_id, ref=customer.id) is None
        assert await live_count(conn, tenant) == 0
        tombstone = await repository.deleted_by_id(
            conn, project_id=tenant.project_id, customer_id=customer.id
        )
        assert tombstone is not None
        assert tombstone["source_id"] == "crm-1"
        assert await event_types(conn, tenant, customer.id) == [
            "customer.created",
            "customer.deleted",
        ]

    async def test_the_source_id_is_free_again(self, conn: Conn, tenant: Credentials):
        gone = await add_customer(conn, tenant, source_id="crm-1")
        await service.delete(conn, project_id=tenant.project_id, ref="crm-1", origin=ORIGIN)

        fresh = await add_customer(conn, tenant, source_id="crm-1")

        assert fresh.id != gone.id
        assert fresh.updated_at is None
        assert await live_count(conn, tenant) == 1

    async def test_an_unknown_ref_is_not_found(self, conn: Conn, tenant: Credentials):
        with pytest.raises(NotFound):
            await service.delete(conn, project_id=tenant.project_id, ref="nobody", origin=ORIGIN)


class TestResolve:
    async def test_by_id(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant)

        row = await service.resolve(conn, project_id=tenant.project_id, ref=customer.id)

        assert row is not None
        assert row["id"] == customer.id

    async def test_by_source_id(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="ada@example.com")

        row = await service.resolve(conn, project_id=tenant.project_id, ref="ada@example.com")

        assert row is not None
        assert row["id"] == customer.id

    async def test_an_id_shaped_source_id(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="cust_not_an_id")

        row = await service.resolve(conn, project_id=tenant.project_id, ref="cust_not_an_id")

        assert row is not None
        assert row["id"] == customer.id

    async def test_never_another_projects_customer(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        theirs = await add_customer(conn, other_tenant, source_id="shared")

        assert await service.resolve(conn, project_id=tenant.project_id, ref=theirs.id) is None
        assert await service.resolve(conn, project_id=tenant.project_id, ref="shared") is None

    async def test_get_renders_the_wire_customer(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="crm-1")

        assert await service.get(conn, project_id=tenant.project_id, ref="crm-1") == customer

    async def test_get_or_raise_names_the_ref(self, conn: Conn, tenant: Credentials):
        with pytest.raises(NotFound) as caught:
            await service.get_or_raise(conn, project_id=tenant.project_id, ref="nobody")

        assert caught.value.resource_id == "nobody"
        assert caught.value.resource_type == "customer"
