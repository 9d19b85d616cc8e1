"""customer.address_keys: which address keys were sent; e-mails indexed case-insensitively

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("customer", "customer_deleted"):
        op.add_column(
            table, sa.Column("address_keys", sa.Integer(), server_default="63", nullable=False)
        )
    op.create_index(
        "ix_customer_project_id_lower_email",
        "customer",
        ["project_id", sa.text("lower(email)")],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_project_id_lower_email", table_name="customer")
    for table in ("customer", "customer_deleted"):
        op.drop_column(table, "address_keys")
