"""customers.repository in process: the SQL behind the service (each test rolled back)."""

from __future__ import annotations

from patrons.core import ids
from patrons.customers import repository
from patrons.db.database import Conn
from patrons.projects.service import Credentials
from tests.factories import add_customer


def values(**overrides: object) -> dict[str, object]:
    return {
        "id": ids.customer_id(),
        "source_id": None,
        "created_at": 1_700_000_000_000,
        **overrides,
    }


class TestUpsertBySourceId:
    async def test_a_fresh_row_has_no_updated_at(self, conn: Conn, tenant: Credentials):
        row = await repository.upsert_by_source_id(
            conn,
            project_id=tenant.project_id,
            values=values(source_id="s1", name="A"),
            changes={"name": "A", "updated_at": 1_700_000_000_001},
        )

        assert row["updated_at"] is None
        assert row["name"] == "A"

    async def test_a_conflicting_row_gets_the_changes(self, conn: Conn, tenant: Credentials):
        first = await repository.insert(
            conn, project_id=tenant.project_id, values=values(source_id="s1", name="A")
        )

        row = await repository.upsert_by_source_id(
            conn,
            project_id=tenant.project_id,
            values=values(source_id="s1", name="B"),
            changes={"name": "B", "updated_at": 1_700_000_000_001},
        )

        assert (row["id"], row["name"], row["updated_at"]) == (first["id"], "B", 1_700_000_000_001)


class TestSoftDelete:
    async def test_moves_the_row_to_customer_deleted(self, conn: Conn, tenant: Credentials):
        customer = await add_customer(conn, tenant, source_id="s1")

        moved = await repository.soft_delete(
            conn, project_id=tenant.project_id, customer_id=customer.id, deleted_at=5
        )

        assert moved is True
        assert (
            await repository.get_by_id(conn, project_id=tenant.project_id, customer_id=customer.id)
            is None
        )
        tombstones = await repository.deleted_by_source_id(
            conn, project_id=tenant.project_id, source_id="s1"
        )
        assert [t["id"] for t in tombstones] == [customer.id]
        deleted_at = await conn.fetchval(
            "SELECT deleted_at FROM customer_deleted WHERE project_id = $1 AND id = $2",
            tenant.project_id,
            customer.id,
        )
        assert deleted_at == 5

    async def test_an_absent_row_is_false(self, conn: Conn, tenant: Credentials):
        moved = await repository.soft_delete(
            conn, project_id=tenant.project_id, customer_id="cust_nobody", deleted_at=5
        )

        assert moved is False


class TestCounter:
    async def test_slots_add_up_per_project(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        for delta in (3, 4, -2):
            await repository.add_to_count(conn, project_id=tenant.project_id, delta=delta)
        await repository.add_to_count(conn, project_id=other_tenant.project_id, delta=7)

        assert await repository.live_count(conn, project_id=tenant.project_id) == 5
        assert await repository.live_count(conn, project_id=other_tenant.project_id) == 7

    async def test_a_new_project_counts_zero(self, conn: Conn, tenant: Credentials):
        assert await repository.live_count(conn, project_id=tenant.project_id) == 0


class TestFindMany:
    async def test_by_ids_and_source_ids_of_this_project_only(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        by_id = await add_customer(conn, tenant)
        by_source = await add_customer(conn, tenant, source_id="s-2")
        await add_customer(conn, tenant, source_id="s-3")
        await add_customer(conn, other_tenant, source_id="s-4")

        rows = await repository.find_many(
            conn, project_id=tenant.project_id, refs=[by_id.id, "s-2", "s-4", "nobody"]
        )

        assert sorted(r["id"] for r in rows) == sorted([by_id.id, by_source.id])
