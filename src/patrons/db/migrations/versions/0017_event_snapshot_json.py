"""customer_event.snapshot is `json` on PostgreSQL, not `jsonb` (issue 14)

A bulk import COPYs one event per new customer, and the server parsed every snapshot into
jsonb: ~29% of the events' COPY (200k rows: 1.9 → 1.35 s of server CPU). Nothing queries
inside a snapshot; it is read back whole and decoded by the application. `json` keeps the text
as written: snapshots built in SQL (`jsonb_build_object`) are stored in jsonb's text form as
before (assignment cast), and COPYed ones are written with their metadata keys in jsonb's
order (activities and customers/bulk_writer.py), so the wire output is unchanged. `extra` and
`event_source` stay jsonb (small, and `extra`'s key order reaches the wire as jsonb orders it).
SQLite stores JSON as TEXT: nothing changes there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE customer_event ALTER COLUMN snapshot TYPE json USING snapshot::json"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE customer_event ALTER COLUMN snapshot TYPE jsonb USING snapshot::jsonb"
        )
