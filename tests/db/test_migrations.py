"""The Alembic migrations, run on an empty database, produce exactly db/tables.py.

Compared with Alembic's autogenerate (what `alembic revision --autogenerate` would write):
tables, columns, types, nullability, server defaults, indexes, unique constraints and foreign
keys — plus primary keys, which autogenerate does not compare. Any difference means a
migration and tables.py disagree: fix the metadata, or add a migration (never edit an old one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from patrons.db import dialect
from patrons.db.tables import metadata
from tests.conftest import Backend

OPTIONS = {"compare_type": True, "compare_server_default": True}


def differences(connection: sa.Connection, target: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts=OPTIONS)
    found: list[Any] = list(compare_metadata(context, target))
    inspector = sa.inspect(connection)
    for table in target.sorted_tables:
        if not inspector.has_table(table.name):
            continue  # reported by compare_metadata as add_table
        stored = inspector.get_pk_constraint(table.name)["constrained_columns"]
        declared = [column.name for column in table.primary_key.columns]
        if stored != declared:
            found.append(("primary_key", table.name, stored, declared))
    return found


async def on_database(url: str, compare: Callable[[sa.Connection], list[Any]]) -> list[Any]:
    """Run `compare` on a SQLAlchemy connection to `url` (asyncpg through run_sync)."""
    if dialect.kind_of(url) == dialect.SQLITE:
        engine = sa.create_engine(dialect.sqlalchemy_url(url), poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                return compare(connection)
        finally:
            engine.dispose()
    async_engine = create_async_engine(dialect.sqlalchemy_url(url), poolclass=sa.NullPool)
    try:
        async with async_engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await async_engine.dispose()


def kinds(diffs: list[Any]) -> set[str]:
    """The operation names of compare_metadata's output (modify_* come grouped in lists)."""
    names: set[str] = set()
    for diff in diffs:
        for item in diff if isinstance(diff, list) else [diff]:
            names.add(item[0])
    return names


async def test_migrated_schema_is_exactly_the_metadata(inprocess_backend: Backend) -> None:
    diffs = await on_database(inprocess_backend.url, lambda c: differences(c, metadata))

    assert diffs == []


async def test_the_comparison_sees_each_kind_of_drift(inprocess_backend: Backend) -> None:
    """The check above can fail: a changed copy of the metadata shows every kind of drift."""
    drifted = sa.MetaData(naming_convention=dict(metadata.naming_convention))
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    sa.Table("zz_extra", drifted, sa.Column("id", sa.Integer, primary_key=True))
    segment = drifted.tables["segment"]
    segment.append_column(sa.Column("zz_column", sa.Integer, nullable=True))
    segment.c["updated_at"].nullable = False
    segment.c["name"].type = sa.Integer()
    sa.Index("ix_zz_segment_type", segment.c["type"])
    drifted.tables["project"].append_constraint(sa.UniqueConstraint("name", name="uq_zz_name"))
    drifted.tables["segment_member"].append_constraint(
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_zz_project")
    )

    diffs = await on_database(inprocess_backend.url, lambda c: differences(c, drifted))

    assert kinds(diffs) == {
        "add_table",
        "add_column",
        "modify_nullable",
        "modify_type",
        "add_index",
        "add_constraint",
        "add_fk",
    }
