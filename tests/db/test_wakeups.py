"""db.database in process: wake-ups reach listeners only after the notifying transaction commits,
and SQLite writers of one process take turns without blocking an event loop."""

from __future__ import annotations

import asyncio

from patrons.db import database
from patrons.db.database import Database
from tests.conftest import Backend

CHANNEL = "patrons_test_wakeups"


async def _woken(event: asyncio.Event) -> bool:
    """Whether `event` is set within 10 s (a wake-up takes milliseconds)."""
    try:
        await asyncio.wait_for(event.wait(), timeout=10)
    except TimeoutError:
        return False
    return True


class TestNotify:
    async def test_a_listener_hears_a_commit_and_only_after_it(
        self, db: Database, inprocess_backend: Backend
    ) -> None:
        other = await database.connect(inprocess_backend.url, pg_pool_min=1, pg_pool_max=1)
        heard = asyncio.Event()
        listening = await database.listen(other, CHANNEL, heard.set)
        try:
            await asyncio.sleep(0.2)  # PostgreSQL: let the LISTEN connection start
            async with db.transaction() as conn:
                await database.notify(conn, CHANNEL)
                await asyncio.sleep(0.2)  # a notice delivered before COMMIT would land here
                assert not heard.is_set()
            assert await _woken(heard)
        finally:
            await listening.close()
            await other.close()

    async def test_a_rolled_back_transaction_wakes_nobody(
        self, db: Database, inprocess_backend: Backend
    ) -> None:
        heard = asyncio.Event()
        listening = await database.listen(db, CHANNEL, heard.set)
        try:
            await asyncio.sleep(0.2)
            async with db.rollback_only() as conn:
                await database.notify(conn, CHANNEL)
            async with db.transaction() as conn:  # a later commit that notifies nothing
                await conn.fetchval("SELECT 1")
            marker = asyncio.Event()
            second = await database.listen(db, CHANNEL + "_marker", marker.set)
            await asyncio.sleep(0.2)
            async with db.transaction() as conn:
                await database.notify(conn, CHANNEL + "_marker")
            assert await _woken(marker)  # notices arrive in order: the rolled back one never
            await second.close()
            assert not heard.is_set()
        finally:
            await listening.close()


class TestWriterGate:
    async def test_a_second_connection_waits_without_blocking_the_loop(
        self, db: Database, inprocess_backend: Backend
    ) -> None:
        """Two connections of this process to one database: while one holds a write
        transaction, the other's transaction waits, and the event loop keeps running."""
        other = await database.connect(inprocess_backend.url, pg_pool_min=1, pg_pool_max=1)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        running = asyncio.create_task(ticker())
        try:
            async with db.transaction() as conn:
                await conn.fetchval("SELECT 1")
                waiting = asyncio.create_task(_second_write(other))
                await asyncio.sleep(0.3)
                before = ticks
                await asyncio.sleep(0.3)
                assert ticks > before, "the event loop stalled behind the other transaction"
            assert await asyncio.wait_for(waiting, timeout=10) == 1
        finally:
            running.cancel()
            await other.close()


async def _second_write(db: Database) -> int:
    async with db.transaction() as conn:
        return await conn.fetchval("SELECT 1")
