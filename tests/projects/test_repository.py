"""projects.repository in process: projects and their API keys (each test rolled back)."""

from __future__ import annotations

from patrons.core import ids
from patrons.db.database import Conn
from patrons.projects import repository
from patrons.projects.service import Credentials


async def add_project(conn: Conn, *, is_default: bool = False, created_at: int = 1_000) -> str:
    project_id = ids.project_id()
    await repository.insert_project(
        conn, project_id=project_id, name="p", is_default=is_default, created_at=created_at
    )
    return project_id


async def add_key(conn: Conn, project_id: str, *, created_at: int = 1_000) -> str:
    app_id = ids.app_id()
    await repository.insert_key(
        conn,
        project_id=project_id,
        app_id=app_id,
        name="Backend",
        token_hash="h" * 64,
        created_at=created_at,
    )
    return app_id


class TestProjects:
    async def test_get_returns_the_inserted_project(self, conn: Conn):
        project_id = await add_project(conn, created_at=42)

        row = await repository.get_project(conn, project_id=project_id)

        assert row is not None
        assert (row["name"], bool(row["is_default"]), row["created_at"]) == ("p", False, 42)

    async def test_an_unknown_project_is_absent(self, conn: Conn):
        assert await repository.get_project(conn, project_id="proj_nothing") is None

    async def test_the_default_project_is_the_oldest_default(self, conn: Conn):
        await add_project(conn, created_at=1)
        older = await add_project(conn, is_default=True, created_at=2)
        await add_project(conn, is_default=True, created_at=3)

        row = await repository.get_default_project(conn)

        assert row is not None
        assert row["id"] == older

    async def test_list_counts_each_projects_customers(self, conn: Conn, tenant: Credentials):
        await conn.execute(
            "INSERT INTO customer_counter (project_id, slot, n) VALUES ($1, 0, 2), ($1, 5, 1)",
            tenant.project_id,
        )

        rows = {row["id"]: row for row in await repository.list_projects(conn)}

        assert rows[tenant.project_id]["customer_count"] == 3


class TestKeys:
    async def test_get_key_names_its_project(self, conn: Conn):
        project_id = await add_project(conn)
        app_id = await add_key(conn, project_id)

        row = await repository.get_key(conn, app_id=app_id)

        assert row is not None
        assert (row["project_id"], row["token_hash"]) == (project_id, "h" * 64)

    async def test_set_token_hash_counts_the_keys_changed(self, conn: Conn):
        app_id = await add_key(conn, await add_project(conn))

        assert (
            await repository.set_token_hash(conn, app_id=app_id, token_hash="x", rotated_at=7) == 1
        )
        assert (
            await repository.set_token_hash(conn, app_id="nobody", token_hash="x", rotated_at=7)
            == 0
        )
        row = await repository.get_key(conn, app_id=app_id)
        assert row is not None
        assert row["token_hash"] == "x"

    async def test_list_keys_of_one_project_oldest_first(self, conn: Conn):
        mine, theirs = await add_project(conn), await add_project(conn)
        second = await add_key(conn, mine, created_at=2)
        first = await add_key(conn, mine, created_at=1)
        await add_key(conn, theirs)

        rows = await repository.list_keys(conn, project_id=mine)

        assert [row["app_id"] for row in rows] == [first, second]

    async def test_delete_key_counts_the_keys_deleted(self, conn: Conn):
        app_id = await add_key(conn, await add_project(conn))

        assert await repository.delete_key(conn, app_id=app_id) == 1
        assert await repository.delete_key(conn, app_id=app_id) == 0
        assert await repository.get_key(conn, app_id=app_id) is None
