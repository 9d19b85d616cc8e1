"""The only place that knows SQLite and PostgreSQL apart.

SQL in repositories is written once with PostgreSQL's `$1` placeholders; SQLite gets them
rewritten to its numbered `?1` form, which binds the same positional arguments.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PARAM = re.compile(r"\$(\d+)")

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def kind_of(url: str) -> str:
    if url.startswith("sqlite:"):
        return SQLITE
    if url.startswith(("postgresql:", "postgres:", "postgresql+asyncpg:")):
        return POSTGRESQL
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///file.db or postgresql://…")


@lru_cache(maxsize=1024)
def sqlite_sql(sql: str) -> str:
    return _PARAM.sub(r"?\1", sql)


def sqlite_path(url: str) -> str:
    """`sqlite:///rel.db` → `rel.db`; `sqlite:////abs.db` → `/abs.db`; `sqlite://` → memory."""
    path = url.split(":", 1)[1]
    if path.startswith("///"):
        return path[3:] or ":memory:"
    if path.startswith("//"):
        return path[2:] or ":memory:"
    return path or ":memory:"


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg:", "postgresql:", 1)


def sqlalchemy_url(url: str) -> str:
    """The URL Alembic's engine uses: asyncpg for PostgreSQL, stdlib sqlite3 for SQLite."""
    if kind_of(url) == POSTGRESQL:
        rest = url.split(":", 1)[1]
        return "postgresql+asyncpg:" + rest
    return url
