"""orders: the customer's orders (issue 17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 13:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.Text().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("discount_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("items_discount_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("items", Json, nullable=True),
        sa.Column("metadata", Json, server_default="{}", nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("referrer_id", sa.String(64), nullable=True),
        sa.Column("redemptions", Json, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_orders"),
        sa.UniqueConstraint("project_id", "source_id", name="uq_orders_project_id_source_id"),
    )
    op.create_index(
        "ix_orders_project_id_created_at_id", "orders", ["project_id", "created_at", "id"]
    )
    op.create_index(
        "ix_orders_project_id_customer_id_status", "orders", ["project_id", "customer_id", "status"]
    )
    op.create_index("ix_orders_project_id_referrer_id", "orders", ["project_id", "referrer_id"])


def downgrade() -> None:
    op.drop_table("orders")
