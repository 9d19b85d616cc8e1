"""indexes and day counts for cheap filtered totals and list order (issue 16)

- PostgreSQL: the `updated_at` index becomes `(project_id, updated_at NULLS FIRST, id) INCLUDE
  (created_at)`, so `order=±updated_at` (NULL sorts as the smallest value: ascending NULLS
  FIRST, descending NULLS LAST) walks it instead of sorting the matches, and an `updated_at`
  range sorted by `created_at` is read index-only. SQLite's plain index already sorts NULLs
  that way.
- `customer_day_count` (both databases): live customers per day of `created_at` / `updated_at`.
  On PostgreSQL statement-level triggers on `customer` keep it (one grouped upsert per
  statement, a random slot of 16 per statement, so concurrent writers of one day rarely meet),
  and it is filled here from the rows already stored. SQLite leaves it empty.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_MS = 86_400_000

# One function for the three triggers: the rows a statement inserted count +1 on their days,
# the rows it deleted -1, an update both (old -1, new +1; days that net to zero are skipped,
# so an update leaving both stamps alone writes nothing). Grouped and sorted, so two
# statements meeting on the same slot take their row locks in the same order.
KEEP_FUNCTION = f"""
CREATE FUNCTION customer_day_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_slot smallint := floor(random() * 16);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_day_count AS c (project_id, stamp, day, slot, n)
        SELECT x.project_id, x.stamp, x.day, v_slot, SUM(x.k) FROM (
            SELECT r.project_id, 0 AS stamp, r.created_at / {DAY_MS} AS day, 1 AS k
            FROM new_rows r
            UNION ALL
            SELECT r.project_id, 1, r.updated_at / {DAY_MS}, 1
            FROM new_rows r WHERE r.updated_at IS NOT NULL
        ) x
        GROUP BY x.project_id, x.stamp, x.day
        ORDER BY x.project_id, x.stamp, x.day
        ON CONFLICT (project_id, stamp, day, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_day_count AS c (project_id, stamp, day, slot, n)
        SELECT x.project_id, x.stamp, x.day, v_slot, SUM(x.k) FROM (
            SELECT r.project_id, 0 AS stamp, r.created_at / {DAY_MS} AS day, -1 AS k
            FROM old_rows r
            UNION ALL
            SELECT r.project_id, 1, r.updated_at / {DAY_MS}, -1
            FROM old_rows r WHERE r.updated_at IS NOT NULL
        ) x
        GROUP BY x.project_id, x.stamp, x.day
        ORDER BY x.project_id, x.stamp, x.day
        ON CONFLICT (project_id, stamp, day, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO customer_day_count AS c (project_id, stamp, day, slot, n)
        SELECT x.project_id, x.stamp, x.day, v_slot, SUM(x.k) FROM (
            SELECT r.project_id, 0 AS stamp, r.created_at / {DAY_MS} AS day, 1 AS k
            FROM new_rows r
            UNION ALL
            SELECT r.project_id, 1, r.updated_at / {DAY_MS}, 1
            FROM new_rows r WHERE r.updated_at IS NOT NULL
            UNION ALL
            SELECT r.project_id, 0, r.created_at / {DAY_MS}, -1
            FROM old_rows r
            UNION ALL
            SELECT r.project_id, 1, r.updated_at / {DAY_MS}, -1
            FROM old_rows r WHERE r.updated_at IS NOT NULL
        ) x
        GROUP BY x.project_id, x.stamp, x.day
        HAVING SUM(x.k) <> 0
        ORDER BY x.project_id, x.stamp, x.day
        ON CONFLICT (project_id, stamp, day, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGERS = (
    ("customer_day_count_insert", "INSERT", "NEW TABLE AS new_rows"),
    ("customer_day_count_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("customer_day_count_delete", "DELETE", "OLD TABLE AS old_rows"),
)


def upgrade() -> None:
    op.create_table(
        "customer_day_count",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("stamp", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "stamp", "day", "slot", name="pk_customer_day_count"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_customer_project_id_updated_at_id", table_name="customer")
    op.create_index(
        "ix_customer_project_id_updated_at_id",
        "customer",
        ["project_id", sa.text("updated_at NULLS FIRST"), "id"],
        postgresql_include=["created_at"],
    )
    op.execute(KEEP_FUNCTION)
    for name, event, tables in TRIGGERS:  # CREATE TRIGGER locks out writers until commit
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON customer REFERENCING {tables}"
            " FOR EACH STATEMENT EXECUTE FUNCTION customer_day_count_keep()"
        )
    op.execute(
        "INSERT INTO customer_day_count (project_id, stamp, day, slot, n)"
        f" SELECT project_id, 0, created_at / {DAY_MS}, 0, COUNT(*) FROM customer"
        f" GROUP BY project_id, created_at / {DAY_MS}"
        f" UNION ALL SELECT project_id, 1, updated_at / {DAY_MS}, 0, COUNT(*) FROM customer"
        f" WHERE updated_at IS NOT NULL GROUP BY project_id, updated_at / {DAY_MS}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON customer")
        op.execute("DROP FUNCTION customer_day_count_keep()")
        op.drop_index("ix_customer_project_id_updated_at_id", table_name="customer")
        op.create_index(
            "ix_customer_project_id_updated_at_id", "customer", ["project_id", "updated_at", "id"]
        )
    op.drop_table("customer_day_count")
