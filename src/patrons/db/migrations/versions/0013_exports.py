"""exports: export jobs and their files (issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.Text().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "export",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("exported_object", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("parameters", _JSON, nullable=False),
        sa.Column("action_id", sa.String(64), nullable=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("after_key", _JSON, nullable=True),
        sa.Column("row_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("byte_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("piece_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_export"),
    )
    op.create_index(
        "ix_export_project_id_created_at_id", "export", ["project_id", "created_at", "id"]
    )
    op.create_table(
        "export_piece",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("export_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "export_id", "seq", name="pk_export_piece"),
    )
    op.create_index(
        "ix_voucher_project_id_created_at_id", "voucher", ["project_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_voucher_project_id_created_at_id", table_name="voucher")
    op.drop_table("export_piece")
    op.drop_index("ix_export_project_id_created_at_id", table_name="export")
    op.drop_table("export")
