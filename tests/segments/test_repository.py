"""segments.repository in process: segment rows and stored memberships (each test rolled back)."""

from __future__ import annotations

from patrons.db.database import Conn
from patrons.projects.service import Credentials
from patrons.segments import repository
from tests.factories import add_customer, add_segment


class TestInsertAndGet:
    async def test_get_returns_the_inserted_row(self, conn: Conn, tenant: Credentials):
        made = await add_segment(conn, tenant, name="VIPs", type_="passive", filter_json="{}")

        row = await repository.get(conn, project_id=tenant.project_id, segment_id=made["id"])

        assert row is not None
        assert (row["name"], row["type"], row["updated_at"]) == ("VIPs", "passive", None)

    async def test_another_projects_segment_is_absent(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        theirs = await add_segment(conn, other_tenant)

        assert (
            await repository.get(conn, project_id=tenant.project_id, segment_id=theirs["id"])
            is None
        )


class TestList:
    async def test_pages_by_creation_in_either_direction(self, conn: Conn, tenant: Credentials):
        made = [await add_segment(conn, tenant, created_at=1_000 + i) for i in range(5)]
        ids = [row["id"] for row in made]

        up = await repository.list_(
            conn, project_id=tenant.project_id, descending=False, limit=2, offset=1
        )
        down = await repository.list_(
            conn, project_id=tenant.project_id, descending=True, limit=10, offset=0
        )

        assert [row["id"] for row in up] == ids[1:3]
        assert [row["id"] for row in down] == ids[::-1]

    async def test_count_and_of_types_filter_by_type(self, conn: Conn, tenant: Credentials):
        await add_segment(conn, tenant, type_="static", created_at=1)
        passive = await add_segment(conn, tenant, type_="passive", filter_json="{}", created_at=2)
        auto = await add_segment(conn, tenant, type_="auto-update", filter_json="{}", created_at=3)
        pid = tenant.project_id

        assert await repository.count(conn, project_id=pid) == 3
        assert await repository.count(conn, project_id=pid, types=("passive", "auto-update")) == 2
        rows = await repository.of_types(conn, project_id=pid, types=("passive", "auto-update"))
        assert [row["id"] for row in rows] == [passive["id"], auto["id"]]


class TestMembers:
    async def test_add_returns_only_new_members(self, conn: Conn, tenant: Credentials):
        segment = await add_segment(conn, tenant)
        a, b = await add_customer(conn, tenant), await add_customer(conn, tenant)
        pid, sid = tenant.project_id, segment["id"]

        first = await repository.add_members(
            conn, project_id=pid, segment_id=sid, customer_ids=[a.id]
        )
        second = await repository.add_members(
            conn, project_id=pid, segment_id=sid, customer_ids=[a.id, b.id]
        )

        assert first == [a.id]
        assert second == [b.id]
        assert sorted(
            await repository.memberships(conn, project_id=pid, customer_ids=[a.id, b.id])
        ) == sorted([(a.id, sid), (b.id, sid)])

    async def test_remove_returns_only_removed_members(self, conn: Conn, tenant: Credentials):
        segment = await add_segment(conn, tenant)
        a, b = await add_customer(conn, tenant), await add_customer(conn, tenant)
        pid, sid = tenant.project_id, segment["id"]
        await repository.add_members(conn, project_id=pid, segment_id=sid, customer_ids=[a.id])

        removed = await repository.remove_members(
            conn, project_id=pid, segment_id=sid, customer_ids=[a.id, b.id]
        )

        assert removed == [a.id]
        assert await repository.memberships(conn, project_id=pid, customer_ids=[a.id]) == []

    async def test_empty_lists_touch_nothing(self, conn: Conn, tenant: Credentials):
        segment = await add_segment(conn, tenant)
        pid, sid = tenant.project_id, segment["id"]

        assert (
            await repository.add_members(conn, project_id=pid, segment_id=sid, customer_ids=[])
            == []
        )
        assert (
            await repository.remove_members(conn, project_id=pid, segment_id=sid, customer_ids=[])
            == []
        )
        assert await repository.memberships(conn, project_id=pid, customer_ids=[]) == []

    async def test_drop_customer_leaves_every_segment(self, conn: Conn, tenant: Credentials):
        one, two = await add_segment(conn, tenant), await add_segment(conn, tenant)
        customer = await add_customer(conn, tenant)
        pid = tenant.project_id
        for segment in (one, two):
            await repository.add_members(
                conn, project_id=pid, segment_id=segment["id"], customer_ids=[customer.id]
            )

        await repository.drop_customer(conn, project_id=pid, customer_id=customer.id)

        assert await repository.memberships(conn, project_id=pid, customer_ids=[customer.id]) == []


class TestDelete:
    async def test_removes_the_segment_and_its_members(self, conn: Conn, tenant: Credentials):
        segment = await add_segment(conn, tenant)
        customer = await add_customer(conn, tenant)
        pid, sid = tenant.project_id, segment["id"]
        await repository.add_members(
            conn, project_id=pid, segment_id=sid, customer_ids=[customer.id]
        )

        assert await repository.delete(conn, project_id=pid, segment_id=sid) is True
        assert await repository.get(conn, project_id=pid, segment_id=sid) is None
        assert await repository.memberships(conn, project_id=pid, customer_ids=[customer.id]) == []

    async def test_an_unknown_segment_is_false(self, conn: Conn, tenant: Credentials):
        assert (
            await repository.delete(conn, project_id=tenant.project_id, segment_id="seg_x") is False
        )

    async def test_another_projects_segment_is_untouched(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        theirs = await add_segment(conn, other_tenant)

        assert (
            await repository.delete(conn, project_id=tenant.project_id, segment_id=theirs["id"])
            is False
        )
        assert (
            await repository.get(conn, project_id=other_tenant.project_id, segment_id=theirs["id"])
            is not None
        )
