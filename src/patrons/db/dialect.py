"""The only place that knows SQLite and PostgreSQL apart.

SQL in repositories is written once with PostgreSQL's `$1` placeholders; SQLite gets them
rewritten to its numbered `?1` form, which binds the same positional arguments.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

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


@lru_cache(maxsize=4)
def customer_snapshot_sql(kind: str) -> str:
    """A JSON object of the customer row's columns (the event snapshot), built in SQL."""
    from patrons.db.tables import CUSTOMER_COLUMNS  # late: dialect stays importable alone

    pairs = []
    for column in CUSTOMER_COLUMNS:
        value = "json(metadata)" if column == "metadata" and kind == SQLITE else column
        pairs.append(f"'{column}', {value}")
    function = "jsonb_build_object" if kind == POSTGRESQL else "json_object"
    return f"{function}({', '.join(pairs)})"


def random_hex_sql(kind: str, chars: int) -> str:
    """A fresh random lowercase hex string per row, `chars` long (≤ 32)."""
    if kind == POSTGRESQL:
        return f"substr(md5(random()::text || clock_timestamp()::text), 1, {chars})"
    return f"substr(lower(hex(randomblob({(chars + 1) // 2}))), 1, {chars})"


def hex_sql(kind: str, expression: str, width: int) -> str:
    """A non-negative integer expression as lowercase hex, zero-padded to `width` digits."""
    if kind == POSTGRESQL:
        return f"lpad(to_hex({expression}), {width}, '0')"
    return f"printf('%0{width}x', {expression})"


def in_list_sql(kind: str, placeholder: str) -> str:
    """`column IN <this>` for one parameter holding a list of strings (a JSON text on SQLite)."""
    if kind == POSTGRESQL:
        return f"(SELECT unnest({placeholder}::text[]))"
    return f"(SELECT value FROM json_each({placeholder}))"


def any_of_sql(kind: str, column: str, placeholder: str) -> str:
    """`column` equals one of a list parameter (see list_param). PostgreSQL's `= ANY(array)`
    plans as index lookups where `IN (SELECT unnest(…))` may plan as a semi-join scan."""
    if kind == POSTGRESQL:
        return f"{column} = ANY({placeholder}::text[])"
    return f"{column} IN (SELECT value FROM json_each({placeholder}))"


def list_param(kind: str, values: list[str]) -> object:
    if kind == POSTGRESQL:
        return values
    return msgspec.json.encode(values).decode()  # json_each reads it as json.dumps's text


def json_param_sql(kind: str, placeholder: str) -> str:
    """A JSON-text parameter used where PostgreSQL cannot infer jsonb (e.g. a SELECT list)."""
    return f"CAST({placeholder} AS jsonb)" if kind == POSTGRESQL else placeholder


# --- Filters (patrons.db.filters_sql): text and JSON predicates with one meaning. -----------
# Every helper returns SQL whose result is identical on both databases and in the Python
# evaluator: code-point exact text, never LIKE (SQLite's is ASCII-case-insensitive, PostgreSQL's
# is not, and both give `%`/`_` in a value a meaning).

_PG_CASTS = {"text": "text", "float": "float8", "int": "bigint"}


def typed_param(kind: str, number: int, sql_type: str) -> str:
    """`$n` with an explicit type on PostgreSQL (asyncpg infers nothing from `IN (...)`)."""
    return f"${number}" if kind == SQLITE else f"${number}::{_PG_CASTS[sql_type]}"


def text_contains(kind: str, haystack: str, needle: str) -> str:
    return (
        f"instr({haystack}, {needle}) > 0"
        if kind == SQLITE
        else f"strpos({haystack}, {needle}) > 0"
    )


def text_starts_with(kind: str, haystack: str, needle: str) -> str:
    if kind == SQLITE:
        return f"substr({haystack}, 1, length({needle})) = {needle}"
    return f"starts_with({haystack}, {needle})"


def text_ends_with(kind: str, haystack: str, needle: str) -> str:
    if kind == SQLITE:
        return (
            f"(length({haystack}) >= length({needle})"
            f" AND substr({haystack}, length({haystack}) - length({needle}) + 1) = {needle})"
        )
    return f"right({haystack}, length({needle})) = {needle}"


def code_point_order(kind: str, expr: str) -> str:
    """`expr` compared by code point (SQLite's BINARY already is; PostgreSQL needs "C")."""
    return expr if kind == SQLITE else f'{expr} COLLATE "C"'


# A decimal numeral: JSON's number grammar without exponent, at most 40 characters, so every one
# converts to a finite, non-underflowing double (PostgreSQL's float8 raises on out-of-range).
NUMERAL_MAX_LENGTH = 40


def is_decimal_numeral(kind: str, text: str) -> str:
    if kind == SQLITE:
        # Only [0-9.-] and valid JSON ⇒ exactly `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; never raises.
        return (
            f"(length({text}) <= {NUMERAL_MAX_LENGTH} AND {text} <> ''"
            f" AND {text} NOT GLOB '*[^0-9.-]*' AND json_valid({text}))"
        )
    return (
        f"(length({text}) <= {NUMERAL_MAX_LENGTH} AND {text} ~ '^-?(0|[1-9][0-9]*)([.][0-9]+)?$')"
    )


def numeral_value(kind: str, text: str) -> str:
    """A decimal numeral (see is_decimal_numeral) as a double.

    SQLite's `CAST(text AS REAL)` misrounds some numerals of 18+ digits; its JSON parser rounds
    correctly, so the numeral is read as JSON.
    """
    if kind == SQLITE:
        return f"CAST(json_extract({text}, '$') AS REAL)"
    return f"({text})::float8"


class JsonMember:
    """SQL fragments about one member of a JSON object column, valid inside json_member_holds().

    `text` is a string member's text, `boolean_text` a boolean's 'true'/'false', `number` a
    number as a double; each only under its own type test.
    """

    __slots__ = (
        "boolean_text",
        "is_boolean",
        "is_null",
        "is_number",
        "is_string",
        "number",
        "text",
    )

    def __init__(
        self,
        *,
        is_null: str,
        is_string: str,
        is_boolean: str,
        is_number: str,
        text: str,
        boolean_text: str,
        number: str,
    ) -> None:
        self.is_null, self.is_string, self.is_boolean = is_null, is_string, is_boolean
        self.is_number, self.text, self.boolean_text = is_number, text, boolean_text
        self.number = number


_SQLITE_MEMBER = JsonMember(
    is_null="je.type = 'null'",
    is_string="je.type = 'text'",
    is_boolean="je.type IN ('true', 'false')",
    is_number="je.type IN ('integer', 'real')",
    text="je.value",
    boolean_text="je.type",
    number="CAST(je.value AS REAL)",
)


def json_member(kind: str, column: str, key: str) -> JsonMember:
    """The member named by the bound parameter `key` (any text: dots, quotes, unicode)."""
    if kind == SQLITE:
        return _SQLITE_MEMBER
    value = f"({column} -> {key})"
    return JsonMember(
        is_null=f"jsonb_typeof({value}) = 'null'",
        is_string=f"jsonb_typeof({value}) = 'string'",
        is_boolean=f"jsonb_typeof({value}) = 'boolean'",
        is_number=f"jsonb_typeof({value}) = 'number'",
        text=f"({value} #>> '{{}}')",
        boolean_text=f"({value} #>> '{{}}')",
        number=f"({value} #>> '{{}}')::float8",
    )


def json_member_holds(kind: str, column: str, key: str, predicate: str) -> str:
    """True when the object in `column` has member `key` and `predicate` (written with
    json_member()'s fragments) is true for it; false, never NULL, otherwise.

    SQLite's JSON paths cannot name every key (3.40 has no escape for `"` in a path label, and
    `->>` turns `a.b` into a nested path and `1` into an array index), so it scans json_each.
    """
    if kind == SQLITE:
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}) AS je"
            f" WHERE je.key = {key} AND ({predicate}))"
        )
    return f"COALESCE({predicate}, FALSE)"


def values_list_sql(kind: str, placeholder: str) -> str:
    """A FROM item yielding one row (column `value`) per string of a list parameter."""
    if kind == POSTGRESQL:
        return f"unnest({placeholder}::text[]) AS value"
    return f"json_each({placeholder})"


# --- Writers and row locks: how concurrent transactions are kept apart. ----------------------


def one_writer_at_a_time(kind: str) -> bool:
    """True where write transactions never overlap (SQLite's BEGIN IMMEDIATE), so a row read
    inside one cannot go stale before it writes; False where writers run concurrently
    (PostgreSQL) and conflicts must be settled inside the statement (ON CONFLICT)."""
    return kind == SQLITE


def data_modifying_ctes(kind: str) -> bool:
    """True where one statement can write several tables (`WITH w AS (INSERT … RETURNING …),
    e AS (INSERT … SELECT … FROM w) …`: PostgreSQL), so a single-customer write, its counter
    and its event are one round trip; SQLite runs them as statements of one transaction."""
    return kind == POSTGRESQL


def day_counts(kind: str) -> bool:
    """True where triggers keep `customer_day_count` (PostgreSQL, migration 0015), so a lone
    date bound's exact total is a sum over whole days plus one day's index range."""
    return kind == POSTGRESQL


def for_update_sql(kind: str, of: str | None = None) -> str:
    """A trailing ` FOR UPDATE [OF alias]`: lock the rows read until commit. Empty on SQLite,
    whose one writer at a time needs no row locks."""
    if kind == SQLITE:
        return ""
    return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"


def skip_locked_sql(kind: str) -> str:
    """A trailing ` FOR UPDATE SKIP LOCKED`: take rows no concurrent transaction holds (a queue
    claim). Empty on SQLite, where the claim's exclusive transaction already is the lock."""
    return "" if kind == SQLITE else " FOR UPDATE SKIP LOCKED"
