"""webhooks: configuration, signing secrets, outbox and delivery log (issue 18)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 14:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.Text().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhook",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("events", Json, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_webhook"),
    )
    op.create_index("ix_webhook_project_id_active", "webhook", ["project_id", "active"])
    op.create_table(
        "webhook_secret",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name="pk_webhook_secret"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_webhook_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_webhook_outbox_project_id_customer_id_seq",
        "webhook_outbox",
        ["project_id", "customer_id", "seq"],
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_webhook_delivery"),
    )
    op.create_index("ix_webhook_delivery_status_next_at", "webhook_delivery", ["status", "next_at"])
    op.create_index(
        "ix_webhook_delivery_project_id_webhook_id_customer_id_seq",
        "webhook_delivery",
        ["project_id", "webhook_id", "customer_id", "seq"],
    )
    op.create_index(
        "ix_webhook_delivery_project_id_customer_id",
        "webhook_delivery",
        ["project_id", "customer_id"],
    )


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_secret")
    op.drop_table("webhook")
