"""indexes for cheap filtered totals and list order (issue 16)

PostgreSQL: the `updated_at` index becomes `(project_id, updated_at NULLS FIRST, id) INCLUDE
(created_at)`, so `order=±updated_at` (NULL sorts as the smallest value: ascending NULLS FIRST,
descending NULLS LAST) walks it instead of sorting the matches, and an `updated_at` range
sorted by `created_at` is read index-only. SQLite's plain index already sorts NULLs that way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:50:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_customer_project_id_updated_at_id", table_name="customer")
    op.create_index(
        "ix_customer_project_id_updated_at_id",
        "customer",
        ["project_id", "updated_at", "id"],
        postgresql_ops={"updated_at": "NULLS FIRST"},
        postgresql_include=["created_at"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_customer_project_id_updated_at_id", table_name="customer")
    op.create_index(
        "ix_customer_project_id_updated_at_id", "customer", ["project_id", "updated_at", "id"]
    )
