"""SQL of customer_consent (db/tables.py). Every function takes the project first."""

from __future__ import annotations

from collections.abc import Sequence

from patrons.consents.schemas import UNSUBSCRIBED
from patrons.db import erase
from patrons.db.database import Conn, Database, Row

DB = Database | Conn


async def set_values(
    conn: Conn, *, project_id: str, customer_id: str, values: Sequence[tuple[str, bool]], now: int
) -> None:
    """Each (consent id, value) stored for the customer; `created_at` stays the first time."""
    await conn.executemany(
        "INSERT INTO customer_consent"
        " (project_id, customer_id, consent_id, value, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $5)"
        " ON CONFLICT (project_id, customer_id, consent_id)"
        " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [(project_id, customer_id, consent_id, value, now) for consent_id, value in values],
    )


async def withdraw_all(conn: Conn, *, project_id: str, customer_id: str, now: int) -> None:
    """Every consent the customer has given, withdrawn (`unsubscribed` itself aside)."""
    await conn.execute(
        "UPDATE customer_consent SET value = $4, updated_at = $3"
        " WHERE project_id = $1 AND customer_id = $2 AND consent_id <> $5 AND value = $6",
        project_id,
        customer_id,
        now,
        False,
        UNSUBSCRIBED,
        True,
    )


async def resubscribe(conn: Conn, *, project_id: str, customer_id: str, now: int) -> None:
    """A stored `unsubscribed: true` turned false (the customer gave a consent again)."""
    await conn.execute(
        "UPDATE customer_consent SET value = $4, updated_at = $3"
        " WHERE project_id = $1 AND customer_id = $2 AND consent_id = $5 AND value = $6",
        project_id,
        customer_id,
        now,
        False,
        UNSUBSCRIBED,
        True,
    )


async def of_customer(db: DB, *, project_id: str, customer_id: str) -> list[Row]:
    return await db.fetch(
        "SELECT consent_id, value, updated_at FROM customer_consent"
        " WHERE project_id = $1 AND customer_id = $2 ORDER BY consent_id",
        project_id,
        customer_id,
    )


async def definitions(db: DB, *, project_id: str, limit: int) -> list[Row]:
    """The distinct consent ids the project has set (`unsubscribed` is a switch, not one)."""
    return await db.fetch(
        "SELECT consent_id, MIN(created_at) AS created_at, MAX(updated_at) AS updated_at"
        " FROM customer_consent WHERE project_id = $1 AND consent_id <> $2"
        " GROUP BY consent_id ORDER BY consent_id LIMIT $3",
        project_id,
        UNSUBSCRIBED,
        limit,
    )


async def count_definitions(db: DB, *, project_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(DISTINCT consent_id) FROM customer_consent"
            " WHERE project_id = $1 AND consent_id <> $2",
            project_id,
            UNSUBSCRIBED,
        )
    )


async def erase_customers(conn: Conn, *, project_id: str, customer_ids: Sequence[str]) -> int:
    """Permanent deletion: every consent row of these customers; the count."""
    return await erase.delete_customer_rows(
        conn, project_id=project_id, table="customer_consent", customer_ids=customer_ids
    )
