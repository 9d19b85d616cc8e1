"""db.database in process: the rolled-back transaction the in-process layer stands on."""

from __future__ import annotations

from pathlib import Path

import pytest

import patrons
from patrons.db import database
from patrons.db.database import Database
from patrons.worker import runner

PACKAGE = Path(patrons.__file__).parent


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


class TestTransaction:
    async def test_an_error_inside_rolls_back_and_frees_the_writer(self, db: Database) -> None:
        async def insert_then_fail() -> None:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO project (id, name, is_default, created_at)"
                    " VALUES ($1, $2, $3, $4)",
                    "proj_rollback_probe4",
                    "rollback-probe-4",
                    False,
                    1,
                )
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        assert await project_names(db) == []
        async with db.transaction() as conn:  # the writer lock and gate were released
            assert await conn.fetchval("SELECT 1") == 1

    async def test_a_commit_that_fails_rolls_back_and_frees_the_writer(self, db: Database) -> None:
        """SQLite checks deferred foreign keys at COMMIT: that COMMIT fails, and the
        transaction must not stay open on the one connection every request shares."""
        if db.kind != "sqlite":
            pytest.skip("SQLite's one shared connection; asyncpg's transaction handles its own")
        await db.execute("CREATE TEMP TABLE probe_parent (id TEXT PRIMARY KEY)")
        await db.execute(
            "CREATE TEMP TABLE probe_child (parent TEXT"
            " REFERENCES probe_parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        try:

            async def orphan() -> None:
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO probe_child (parent) VALUES ($1)", "nobody")

            with pytest.raises(Exception, match="FOREIGN KEY"):
                await orphan()
            assert not db.raw.in_transaction  # type: ignore[attr-defined]
            assert await db.fetchval("SELECT COUNT(*) FROM probe_child") == 0
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO probe_parent (id) VALUES ($1)", "p")
                await conn.execute("INSERT INTO probe_child (parent) VALUES ($1)", "p")
            assert await db.fetchval("SELECT COUNT(*) FROM probe_child") == 1
        finally:
            await db.execute("DROP TABLE probe_child")
            await db.execute("DROP TABLE probe_parent")


class TestJobWorkerConnection:
    async def test_sqlite_gives_a_job_worker_the_bigger_page_cache(self, db: Database) -> None:
        """A job chunk touches up to its WAL budget of index pages: the workers' connections
        (the embedded one and `patrons worker`) keep more of them than the API's."""
        if db.kind != "sqlite":
            pytest.skip("SQLite's page cache (PostgreSQL's is the server's)")
        assert isinstance(db, database.SqliteDatabase)
        worker_db = await runner.connect(f"sqlite:///{db.path}")
        try:
            assert await worker_db.fetchval("PRAGMA cache_size") == -database.JOBS_CACHE_KIB
            assert await db.fetchval("PRAGMA cache_size") == -database.CACHE_KIB
            # A chunk's dirty pages stay in memory up to its WAL budget (no mid-chunk spill).
            page_bytes = await worker_db.fetchval("PRAGMA page_size")
            budget_pages = database.WAL_CHUNK_BUDGET // page_bytes
            assert await worker_db.fetchval("PRAGMA cache_spill") == budget_pages
            assert await db.fetchval("PRAGMA cache_spill") < budget_pages
        finally:
            await worker_db.close()
        sources = (PACKAGE / "worker" / "embedded.py", PACKAGE / "cli" / "main.py")
        for source in sources:
            assert "runner.connect(" in source.read_text(), source


class TestWalBetweenBulkWrites:
    async def test_the_log_restarts_in_place_and_each_call_tells_the_last_transaction(
        self, tmp_path: Path
    ) -> None:
        """`after_bulk_write` checkpoints the WAL and restarts it: the next transaction
        overwrites the file from its start (it is neither cut to nothing nor appended to), and
        each call returns about what the last transaction logged, not the reused file's size
        (the worker sizes its next chunk from it)."""
        db = database.SqliteDatabase(str(tmp_path / "wal.db"))
        wal = tmp_path / "wal.db-wal"

        async def write(rows: int) -> int:
            async with db.transaction() as conn:
                await conn.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"
                    " INSERT INTO blob_probe SELECT randomblob(3000) FROM n",
                    rows,
                )
            return await db.after_bulk_write()

        try:
            await db.execute("CREATE TABLE blob_probe (b BLOB)")
            await db.after_bulk_write()
            big = await write(2000)  # a row per page: ~2,000 frames, 8 MB
            size = wal.stat().st_size
            assert 2000 * db.page_bytes < big <= size
            small = await write(100)
            assert 100 * db.page_bytes < small < big // 10
            assert wal.stat().st_size == size  # reused, not truncated
            assert abs(await write(2000) - big) < big // 10
            assert wal.stat().st_size < size * 1.1  # written from its start again, not appended
        finally:
            await db.close()
