"""orders.service in process (each test rolled back): summary.orders, upsert, events."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.db.database import Conn
from patrons.orders import service
from patrons.orders.schemas import OrderWrite
from patrons.projects.service import Credentials
from tests.factories import add_customer

ORIGIN = Origin(request_id="v-test", app_id="app-test")


def body(**fields: Any) -> OrderWrite:
    return msgspec.convert(fields, OrderWrite)


async def summary(conn: Conn, tenant: Credentials, customer_id: str) -> dict[str, Any]:
    wire = await customers.get(conn, project_id=tenant.project_id, ref=customer_id)
    return msgspec.json.decode(wire.summary)


class TestSummary:
    async def test_paid_orders_count_and_others_do_not(self, conn: Conn, tenant: Credentials):
        buyer = await add_customer(conn, tenant)
        for amount, status in ((1000, "PAID"), (2000, "CREATED"), (500, "FULFILLED")):
            await asyncio.sleep(0.002)  # distinct created_at: "last" is the newest millisecond
            await service.create(
                conn,
                project_id=tenant.project_id,
                body=body(customer_id=buyer.id, amount=amount, status=status),
                origin=ORIGIN,
            )

        orders = (await summary(conn, tenant, buyer.id))["orders"]

        assert orders["total_count"] == 2
        assert orders["total_amount"] == 1500
        assert orders["average_amount"] == 750
        assert orders["last_order_amount"] == 500

    async def test_the_summary_keeps_what_holdings_wrote(self, conn: Conn, tenant: Credentials):
        buyer = await add_customer(conn, tenant)
        await customers.set_holdings(
            conn,
            project_id=tenant.project_id,
            customer_id=buyer.id,
            summary={"redemptions": {"gift": {"amount_to_go": 700}}},
            loyalty=None,
            referrals=None,
        )

        await service.create(
            conn,
            project_id=tenant.project_id,
            body=body(customer_id=buyer.id, amount=100, status="PAID"),
            origin=ORIGIN,
        )

        stored = await summary(conn, tenant, buyer.id)
        assert stored["redemptions"]["gift"]["amount_to_go"] == 700
        assert stored["orders"]["total_amount"] == 100


class TestUpsert:
    async def test_a_source_id_names_one_order(self, conn: Conn, tenant: Credentials):
        first = await service.create(
            conn, project_id=tenant.project_id, body=body(source_id="o-1"), origin=ORIGIN
        )
        again = await service.create(
            conn, project_id=tenant.project_id, body=body(source_id="o-1", amount=3), origin=ORIGIN
        )

        assert again.id == first.id
        assert again.amount == 3

    async def test_an_unknown_customer_id_raises(self, conn: Conn, tenant: Credentials):
        with pytest.raises(NotFound):
            await service.create(
                conn,
                project_id=tenant.project_id,
                body=body(customer_id="cust_missing"),
                origin=ORIGIN,
            )

    async def test_orders_are_per_project(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        order = await service.create(
            conn, project_id=tenant.project_id, body=body(source_id="o-2"), origin=ORIGIN
        )

        with pytest.raises(NotFound):
            await service.get(conn, project_id=other_tenant.project_id, ref=order.id)
        with pytest.raises(NotFound):
            await service.get(conn, project_id=other_tenant.project_id, ref="o-2")
