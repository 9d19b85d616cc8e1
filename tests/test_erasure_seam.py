"""The erasure seam, in process on a real migrated database of each kind: permanent deletion
runs whatever erasers are registered — a package with a new table (here a stand-in for the
orders to come) needs no change to customers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping

import pytest

from patrons import assembly
from patrons.core import ids
from patrons.core.clock import now_ms
from patrons.core.erasure import Subject
from patrons.core.errors import ResourceInUse
from patrons.customers import erasure
from patrons.customers import repository as customers
from patrons.db.database import Conn, Database
from patrons.projects import service as projects

ORDER_TABLE = (
    "CREATE TABLE seam_order (project_id VARCHAR(64) NOT NULL, id VARCHAR(64) NOT NULL,"
    " customer_id VARCHAR(64) NOT NULL, PRIMARY KEY (project_id, id))"
)


class OrdersEraser:
    """What an orders package would register: its own table, its own counter."""

    counters: tuple[str, ...] = ("orders",)

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        self.calls.append("check")

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        self.calls.append("erase")
        deleted = 0
        for customer_id in subject.customer_ids:
            rows = await conn.fetch(
                "DELETE FROM seam_order WHERE project_id = $1 AND customer_id = $2 RETURNING id",
                project_id,
                customer_id,
            )
            deleted += len(rows)
        return {"orders": deleted}


class Refuser:
    """An eraser whose check refuses; records whether the person was still whole then."""

    counters: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.customer_present: bool | None = None

    async def check(self, conn: Conn, *, project_id: str, subject: Subject) -> None:
        row = await customers.get_by_id(conn, project_id=project_id, customer_id=subject.target_id)
        self.customer_present = row is not None
        raise ResourceInUse("busy", resource_id="x", resource_type="order")

    async def erase(self, conn: Conn, *, project_id: str, subject: Subject) -> Mapping[str, int]:
        raise AssertionError("erase() after a refusing check()")


@pytest.fixture
async def db(db: Database) -> AsyncIterator[Database]:
    """The in-process layer's database (tests/conftest.py) with the stand-in orders table."""
    async with db.transaction() as conn:
        await conn.execute("DROP TABLE IF EXISTS seam_order")
        await conn.execute(ORDER_TABLE)
    try:
        yield db
    finally:
        async with db.transaction() as conn:
            await conn.execute("DROP TABLE seam_order")


async def _project(db: Database) -> str:
    async with db.transaction() as conn:
        created = await projects.create(conn, name="seam " + secrets.token_hex(3))
    return created.project_id


async def _customer_with_orders(db: Database, project_id: str, orders: int) -> str:
    customer_id = ids.customer_id()
    async with db.transaction() as conn:
        await customers.insert(
            conn,
            project_id=project_id,
            values={"id": customer_id, "source_id": "s-" + customer_id, "created_at": now_ms()},
        )
        await customers.add_to_count(conn, project_id=project_id, delta=1)
        for _ in range(orders):
            await conn.execute(
                "INSERT INTO seam_order (project_id, id, customer_id) VALUES ($1, $2, $3)",
                project_id,
                "ord_" + secrets.token_hex(8),
                customer_id,
            )
    return customer_id


async def _orders_of(db: Database, project_id: str, customer_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM seam_order WHERE project_id = $1 AND customer_id = $2",
            project_id,
            customer_id,
        )
    )


class TestRegisteredEraser:
    async def test_runs_in_the_permanent_deletion_and_reports_its_counter(
        self, db: Database
    ) -> None:
        project_id = await _project(db)
        person = await _customer_with_orders(db, project_id, orders=2)
        bystander = await _customer_with_orders(db, project_id, orders=1)
        orders = OrdersEraser()
        erasure.register(orders)
        try:
            async with db.transaction() as conn:
                done = await erasure.erase(conn, project_id=project_id, ref=person)
        finally:
            erasure.unregister(orders)
        assert orders.calls == ["check", "erase"]
        assert done.data_json.orders == 2
        assert done.data_json.customer == 1
        assert await _orders_of(db, project_id, person) == 0
        assert await _orders_of(db, project_id, bystander) == 1

    async def test_a_refusing_check_comes_before_anything_is_written(self, db: Database) -> None:
        project_id = await _project(db)
        person = await _customer_with_orders(db, project_id, orders=1)
        orders, refuser = OrdersEraser(), Refuser()
        erasure.register(orders)  # before the refuser: its check runs, its erase must not
        erasure.register(refuser)
        try:
            with pytest.raises(ResourceInUse):
                async with db.transaction() as conn:
                    await erasure.erase(conn, project_id=project_id, ref=person)
        finally:
            erasure.unregister(refuser)
            erasure.unregister(orders)
        assert orders.calls == ["check"]
        assert refuser.customer_present is True  # customers' own rows were not touched yet
        assert await _orders_of(db, project_id, person) == 1
        assert await customers.get_by_id(db, project_id=project_id, customer_id=person)


class TestRegistration:
    def test_an_unknown_counter_is_refused(self) -> None:
        class Stray(OrdersEraser):
            counters: tuple[str, ...] = ("parcels",)

        with pytest.raises(ValueError, match="parcels"):
            erasure.register(Stray())

    def test_every_package_holding_customer_data_is_installed_in_order(self) -> None:
        assembly.install()
        names = [type(e).__name__ for e in erasure.registered()]
        assert names[:5] == [
            "ActivitiesEraser",
            "SegmentsEraser",
            "RedeemablesEraser",
            "AsyncActionsEraser",
            "IdempotencyKeysEraser",
        ]
