"""redemption: redemptions and rollbacks (issue 17)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.Text().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "redemption",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("object", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("related_object_type", sa.String(32), nullable=False),
        sa.Column("related_object_id", sa.String(64), nullable=False),
        sa.Column("voucher_code", sa.Text(), nullable=True),
        sa.Column("voucher_type", sa.String(16), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("tracking_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rollback_id", sa.String(64), nullable=True),
        sa.Column("metadata", Json, server_default="{}", nullable=False),
        sa.Column("document", Json, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_redemption"),
    )
    for columns in (
        ("project_id", "created_at", "id"),
        ("project_id", "customer_id", "object"),
        ("project_id", "related_object_id"),
        ("project_id", "parent_id"),
    ):
        op.create_index(f"ix_redemption_{'_'.join(columns)}", "redemption", list(columns))


def downgrade() -> None:
    op.drop_table("redemption")
