"""Table definitions (SQLAlchemy Core): the schema's single source, migrated by Alembic.

Conventions: every table carries `project_id` in its primary key and indexes (tenancy, and a
distribution column should tenants ever be sharded); timestamps are BIGINT epoch milliseconds;
JSON is JSONB on PostgreSQL and TEXT on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.Text().with_variant(JSONB(), "postgresql")
Millis = sa.BigInteger

project = sa.Table(
    "project",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    # Live customers; kept by every writer so an unfiltered list's `total` needs no COUNT(*).
    sa.Column("customer_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Millis, nullable=False),
)

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("project.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # sha256 of the token: tokens are long random secrets, so a fast hash is enough.
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("rotated_at", Millis, nullable=True),
    sa.Index(None, "project_id"),
)


def _customer_columns() -> list[sa.Column]:
    return [
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("source_id", sa.Text, nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("birthdate", sa.String(10), nullable=True),  # YYYY-MM-DD
        sa.Column("birthday", sa.String(10), nullable=True),  # deprecated twin, kept apart
        # False → the wire `address` is null; True → an object (its fields may still be null).
        sa.Column("address_set", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("address_city", sa.Text, nullable=True),
        sa.Column("address_state", sa.Text, nullable=True),
        sa.Column("address_line_1", sa.Text, nullable=True),
        sa.Column("address_line_2", sa.Text, nullable=True),
        sa.Column("address_country", sa.Text, nullable=True),
        sa.Column("address_postal_code", sa.Text, nullable=True),
        sa.Column("metadata", Json, nullable=False, server_default="{}"),
        sa.Column("created_at", Millis, nullable=False),
        sa.Column("updated_at", Millis, nullable=True),
    ]


customer = sa.Table(
    "customer",
    metadata,
    *_customer_columns(),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "source_id"),
    sa.Index(None, "project_id", "created_at", "id"),
    sa.Index(None, "project_id", "updated_at", "id"),
    sa.Index(None, "project_id", "email"),
    sa.Index(None, "project_id", "address_city"),
    sa.Index(None, "project_id", "name"),
)

# Soft-deleted customers move here: the live table stays free of tombstones, so its unique
# source_id constraint lets a deleted customer's source_id be used again.
customer_deleted = sa.Table(
    "customer_deleted",
    metadata,
    *_customer_columns(),
    sa.Column("deleted_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "source_id"),
)
