"""voucher_transaction: gift credits and loyalty points as they move (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voucher_transaction",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("voucher_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("balance_type", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("redemption_id", sa.String(64), nullable=True),
        sa.Column("rollback_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_voucher_transaction"),
    )
    op.create_index(
        "ix_voucher_transaction_project_id_voucher_id_id",
        "voucher_transaction",
        ["project_id", "voucher_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("voucher_transaction")
