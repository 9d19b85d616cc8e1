"""consents and custom events (issue 18): customer_consent, customer.system_metadata

Custom events need no table of their own: they are `customer.custom_event` rows of the
customer's event log (customer_event).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customer",
        sa.Column(
            "system_metadata",
            sa.Text().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.create_table(
        "customer_consent",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.Text(), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "customer_id", "consent_id", name="pk_customer_consent"
        ),
    )
    op.create_index(
        "ix_customer_consent_project_id_consent_id",
        "customer_consent",
        ["project_id", "consent_id"],
    )


def downgrade() -> None:
    op.drop_table("customer_consent")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("system_metadata")
