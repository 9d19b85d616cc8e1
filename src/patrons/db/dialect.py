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


# --- customer events -------------------------------------------------------------------------
_SNAPSHOT_COLUMNS = [
    "id",
    "source_id",
    "name",
    "description",
    "email",
    "phone",
    "birthdate",
    "birthday",
    "address_set",
    "address_city",
    "address_state",
    "address_line_1",
    "address_line_2",
    "address_country",
    "address_postal_code",
    "metadata",
    "created_at",
    "updated_at",
]


def customer_snapshot_sql(kind: str) -> str:
    """A JSON object of the customer row's columns (the event snapshot), built in SQL."""
    pairs = []
    for column in _SNAPSHOT_COLUMNS:
        value = "json(metadata)" if column == "metadata" and kind == SQLITE else column
        pairs.append(f"'{column}', {value}")
    function = "jsonb_build_object" if kind == POSTGRESQL else "json_object"
    return f"{function}({', '.join(pairs)})"


def random_hex_sql(kind: str, chars: int) -> str:
    """A fresh random lowercase hex string per row, `chars` long (≤ 32)."""
    if kind == POSTGRESQL:
        return f"substr(md5(random()::text || clock_timestamp()::text), 1, {chars})"
    return f"substr(lower(hex(randomblob({(chars + 1) // 2}))), 1, {chars})"


def in_list_sql(kind: str, placeholder: str) -> str:
    """`column IN <this>` for one parameter holding a list of strings (a JSON text on SQLite)."""
    if kind == POSTGRESQL:
        return f"(SELECT unnest({placeholder}::text[]))"
    return f"(SELECT value FROM json_each({placeholder}))"


def list_param(kind: str, values: list[str]) -> object:
    if kind == POSTGRESQL:
        return values
    import json

    return json.dumps(values)


def json_param_sql(kind: str, placeholder: str) -> str:
    """A JSON-text parameter used where PostgreSQL cannot infer jsonb (e.g. a SELECT list)."""
    return f"CAST({placeholder} AS jsonb)" if kind == POSTGRESQL else placeholder
