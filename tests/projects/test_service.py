"""projects.service in process: creating projects, keys, rotation, the default project."""

from __future__ import annotations

import pytest

from patrons.db.database import Conn
from patrons.projects import repository, service


class TestCreate:
    async def test_stores_the_token_hashed(self, conn: Conn):
        creds = await service.create(conn, name="Shop")

        key = await repository.get_key(conn, app_id=creds.app_id)
        assert key is not None
        assert key["project_id"] == creds.project_id
        assert key["token_hash"] == service.hash_token(creds.app_token)
        assert creds.app_token not in key["token_hash"]

    async def test_each_project_gets_its_own_ids(self, conn: Conn):
        one = await service.create(conn, name="A")
        two = await service.create(conn, name="B")

        assert one.project_id != two.project_id
        assert one.app_id != two.app_id


class TestRotate:
    async def test_a_new_token_replaces_the_old(self, conn: Conn):
        creds = await service.create(conn, name="Shop")

        rotated = await service.rotate(conn, app_id=creds.app_id)

        assert rotated is not None
        assert (rotated.project_id, rotated.app_id) == (creds.project_id, creds.app_id)
        assert rotated.app_token != creds.app_token
        (key,) = await repository.list_keys(conn, project_id=creds.project_id)
        assert key["token_hash"] == service.hash_token(rotated.app_token)
        assert key["rotated_at"] is not None

    async def test_an_unknown_key_is_none(self, conn: Conn):
        assert await service.rotate(conn, app_id="nobody") is None


class TestEnsureDefault:
    async def test_first_call_creates_the_project_and_a_key(self, conn: Conn):
        project_id, fresh = await service.ensure_default(
            conn, name="Default", app_id=None, app_token=None
        )

        assert fresh is not None
        assert fresh.project_id == project_id
        default = await repository.get_default_project(conn)
        assert default is not None
        assert default["id"] == project_id

    async def test_a_second_call_keeps_the_project_and_shows_no_key(self, conn: Conn):
        first, _ = await service.ensure_default(conn, name="Default", app_id=None, app_token=None)

        again, fresh = await service.ensure_default(
            conn, name="Default", app_id=None, app_token=None
        )

        assert (again, fresh) == (first, None)

    async def test_given_keys_are_added_then_their_token_updated(self, conn: Conn):
        project_id, _ = await service.ensure_default(
            conn, name="Default", app_id="my-app", app_token="t1"
        )
        again, fresh = await service.ensure_default(
            conn, name="Default", app_id="my-app", app_token="t2"
        )

        assert again == project_id
        assert fresh == service.Credentials(project_id, "my-app", "t2")
        key = await repository.get_key(conn, app_id="my-app")
        assert key is not None
        assert key["token_hash"] == service.hash_token("t2")

    async def test_another_projects_app_id_is_refused(self, conn: Conn):
        other = await service.create(conn, name="Other")

        with pytest.raises(ValueError, match="belongs to another project"):
            await service.ensure_default(conn, name="Default", app_id=other.app_id, app_token="t")
