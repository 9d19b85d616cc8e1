"""db.database in process: the rolled-back transaction the in-process layer stands on."""

from __future__ import annotations

import pytest

from patrons.db.database import Database


async def project_names(db: Database) -> list[str]:
    rows = await db.fetch("SELECT name FROM project WHERE name LIKE 'rollback-probe%'")
    return [row["name"] for row in rows]


class TestRollbackOnly:
    async def test_writes_are_visible_inside_and_gone_after(self, db: Database) -> None:
        async with db.rollback_only() as conn:
            await conn.execute(
                "INSERT INTO project (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)",
                "proj_rollback_probe",
                "rollback-probe",
                False,
                1,
            )
            inside = await conn.fetchval(
                "SELECT COUNT(*) FROM project WHERE id = $1", "proj_rollback_probe"
            )

        assert inside == 1
        assert await project_names(db) == []

    async def test_an_error_inside_rolls_back_too(self, db: Database) -> None:
        async def insert_then_fail() -> None:
            async with db.rollback_only() as conn:
                await conn.execute(
                    "INSERT INTO project (id, name, is_default, created_at)"
                    " VALUES ($1, $2, $3, $4)",
                    "proj_rollback_probe2",
                    "rollback-probe-2",
                    False,
                    1,
                )
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await insert_then_fail()

        assert await project_names(db) == []

    async def test_a_committed_transaction_afterwards_still_commits(self, db: Database) -> None:
        async with db.rollback_only():
            pass
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO project (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)",
                "proj_rollback_probe3",
                "rollback-probe-3",
                False,
                1,
            )
        try:
            assert await project_names(db) == ["rollback-probe-3"]
        finally:
            async with db.transaction() as conn:
                await conn.execute("DELETE FROM project WHERE id = $1", "proj_rollback_probe3")
