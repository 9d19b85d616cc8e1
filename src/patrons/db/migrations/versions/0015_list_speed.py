"""indexes for cheap filtered totals and list order (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:50:00

"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
