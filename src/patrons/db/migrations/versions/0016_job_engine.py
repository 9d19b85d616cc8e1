"""no schema change: reserved for issue 14, whose work needed none (kept because databases
already carry this revision)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:50:00

"""

from collections.abc import Sequence

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
