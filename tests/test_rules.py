"""Segment rules: parse() errors, every operator through SQL and through matches() on both
databases, and a hypothesis property that the two agree on random customers and rules."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrons.core import ids
from patrons.core.clock import format_ms
from patrons.core.errors import InvalidPayload
from patrons.customers import repository
from patrons.db import database
from patrons.projects import service as projects
from patrons.segments.rules import Rule, matches, parse, to_sql
from tests.conftest import Backend

ADDRESS = ("city", "state", "line_1", "line_2", "country", "postal_code")
TEXT_FIELDS = (
    "name",
    "email",
    "phone",
    "description",
    "source_id",
    *(f"address.{p}" for p in ADDRESS),
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def column_of(field: str) -> str:
    return field.replace("address.", "address_")


def customer_row(**values: Any) -> dict[str, Any]:
    """All columns of a customer row; `metadata` given as a dict and stored as JSON text."""
    row: dict[str, Any] = {column_of(f): None for f in TEXT_FIELDS}
    row.update(birthdate=None, birthday=None, updated_at=None, created_at=ms("2021-01-01"))
    row.update({column_of(k): v for k, v in values.items() if k != "metadata"})
    row["id"] = ids.customer_id()
    row["address_set"] = any(row[f"address_{p}"] is not None for p in ADDRESS)
    row["metadata"] = json.dumps(values.get("metadata", {}), ensure_ascii=False)
    return row


async def _store(db: database.Database, rows: list[dict[str, Any]]) -> str:
    async with db.transaction() as conn:
        creds = await projects.create(conn, name="rules " + secrets.token_hex(3))
        for row in rows:
            await repository.insert(conn, project_id=creds.project_id, values=row)
    return creds.project_id


async def _evaluate(db: database.Database, project_id: str, rule: Rule) -> tuple[set, set, set]:
    """(ids by SQL, ids by matches() on stored rows, ids by matches() with metadata as dict)."""
    sql, params = to_sql(rule, kind=db.kind, first_param=2)
    hits = await db.fetch(
        f"SELECT id FROM customer WHERE project_id = $1 AND {sql}", project_id, *params
    )
    stored = await db.fetch(
        f"SELECT {repository.COLUMNS} FROM customer WHERE project_id = $1", project_id
    )
    as_text = {row["id"] for row in stored if matches(rule, row)}
    decoded = [{k: row[k] for k in row.keys()} for row in stored]  # noqa: SIM118 - sqlite3.Row
    for row in decoded:
        row["metadata"] = json.loads(row["metadata"])
    as_dict = {row["id"] for row in decoded if matches(rule, row)}
    return {row["id"] for row in hits}, as_text, as_dict


# --- parse() errors --------------------------------------------------------------------------

ERRORS = [
    ([], "Property .filter must be an object"),
    ("name", "Property .filter must be an object"),
    ({}, "Property .filter must contain at least one field condition"),
    ({"junction": "and"}, "Property .filter must contain at least one field condition"),
    ({"junction": "xor", "name": {"conditions": {"$is": "a"}}}, ".filter.junction must be one"),
    ({"junction": 1, "name": {"conditions": {"$is": "a"}}}, ".filter.junction must be one of"),
    ({"foo": {"conditions": {"$is": "a"}}}, "Property .filter.foo is not supported"),
    ({"metadata.": {"conditions": {"$is": "a"}}}, "Property .filter.metadata. is not supported"),
    ({"address.zip": {"conditions": {"$is": "a"}}}, ".filter.address.zip is not supported"),
    ({"events.x.count": {"conditions": {"$more_than": 1}}}, ".filter.events.x.count is not"),
    ({"name": "Ada"}, "Property .filter.name must be an object with conditions"),
    ({"name": {}}, "Property .filter.name must be an object with conditions"),
    ({"name": {"conditions": {}}}, "Property .filter.name.conditions must be a non-empty object"),
    ({"name": {"conditions": ["$is"]}}, ".filter.name.conditions must be a non-empty object"),
    (
        {"name": {"conditions": {"$is": "a"}, "junction": "or"}},
        "Property .filter.name.junction is not allowed",
    ),
    ({"created_at": {"conditions": {"$today": True}}}, ".created_at.conditions.$today is not"),
    ({"metadata.n": {"conditions": {"$count": 1}}}, ".metadata.n.conditions.$count is not"),
    ({"name": {"conditions": {"$foo": "a"}}}, "Property .filter.name.conditions.$foo is not"),
    ({"name": {"conditions": {"$after": "2020-01-01"}}}, ".filter.name.conditions.$after is"),
    ({"birthdate": {"conditions": {"$contains": "19"}}}, ".birthdate.conditions.$contains is"),
    (
        {"metadata.tier": {"conditions": {"$in": ["gold", {}]}}},
        "Property .filter.metadata.tier.conditions.$in must be an array of strings, numbers or"
        " booleans",
    ),
    (
        {"metadata.tier": {"conditions": {"$is": None}}},
        ".metadata.tier.conditions.$is must be a string, number or boolean or an array of",
    ),
    ({"name": {"conditions": {"$in": ["a", 1]}}}, ".filter.name.conditions.$in must be an array"),
    ({"name": {"conditions": {"$is": 5}}}, ".$is must be a string or an array of strings"),
    ({"name": {"conditions": {"$in": []}}}, ".conditions.$in must be a non-empty array"),
    ({"name": {"conditions": {"$contains": ""}}}, ".$contains must be a non-empty string or"),
    ({"metadata.s": {"conditions": {"$starts_with": 5}}}, ".$starts_with must be a non-empty"),
    ({"metadata.n": {"conditions": {"$more_than": "abc"}}}, "must be a number or a numeric string"),
    ({"metadata.n": {"conditions": {"$more_than": True}}}, "must be a number or a numeric string"),
    ({"metadata.n": {"conditions": {"$more_than": "1e400"}}}, "must be a number or a numeric"),
    ({"metadata.n": {"conditions": {"$less_than": " 5"}}}, "must be a number or a numeric"),
    ({"metadata.n": {"conditions": {"$more_than": [1, 2]}}}, "(or an array of exactly one)"),
    ({"metadata.n": {"conditions": {"$more_than": []}}}, "(or an array of exactly one)"),
    ({"created_at": {"conditions": {"$after": "yesterday"}}}, "must be an ISO-8601 date-time"),
    ({"created_at": {"conditions": {"$after": 1700000000000}}}, "must be an ISO-8601 date-time"),
    ({"metadata.d": {"conditions": {"$before": "soon"}}}, "must be an ISO-8601 date-time"),
    ({"birthdate": {"conditions": {"$is": "1990-13-01"}}}, "must be a date (YYYY-MM-DD)"),
    ({"birthday": {"conditions": {"$after": "19900101"}}}, "must be a date (YYYY-MM-DD)"),
    ({"name": {"conditions": {"$has_value": False}}}, ".$has_value must be true or null"),
    ({"name": {"conditions": {"$is_unknown": 1}}}, ".$is_unknown must be true or null"),
    ({"name": {"conditions": {"$in": ["x"] * 1001}}}, ".$in must have at most 1000 values"),
    ({"name": {"conditions": {"$is": "a\x00"}}}, ".$is must not contain NUL characters"),
    ({"metadata.a\x00": {"conditions": {"$is": "a"}}}, "must not have NUL characters in its"),
]


class TestParseErrors:
    @pytest.mark.parametrize(("bad", "message"), ERRORS)
    def test_invalid_filter(self, bad: Any, message: str) -> None:
        with pytest.raises(InvalidPayload) as caught:
            parse(bad)
        assert caught.value.details is not None
        assert message in caught.value.details

    @pytest.mark.parametrize(
        "good",
        [
            {"junction": "OR", "name": {"conditions": {"$is": "a"}}},
            {"junction": "And", "name": {"conditions": {"$is": ["a"]}}},
            {"junction": None, "name": {"conditions": {"$is": "a"}}},
            {"address.country": {"conditions": {"$is": "PL"}}},
            {"metadata.tier": {"conditions": {"$in": ["gold", 1, 2.5, True]}}},
            {"metadata.n": {"conditions": {"$more_than": ["0"], "$less_than": 1e3}}},
            {"created_at": {"conditions": {"$after": ["2021-12-01T00:00:00.000Z"]}}},
            {"created_at": {"conditions": {"$before": "2021-12-01T00:00:00.000000+0000"}}},
            {"birthdate": {"conditions": {"$after": "1990-01-01T12:00:00Z"}}},
            {"name": {"conditions": {"$has_value": None, "$is_unknown": [True]}}},
            {'metadata.a.b"c': {"conditions": {"$has_value": "true"}}},
        ],
    )
    def test_valid_filter(self, good: dict[str, Any]) -> None:
        assert parse(good).groups


# --- each operator on hand-picked customers --------------------------------------------------

PEOPLE = {
    "ada": dict(
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+44 20 7946",
        **{"address.city": "London", "address.country": "GB"},
        birthdate="1815-12-10",
        created_at=ms("2021-01-01"),
        updated_at=ms("2021-06-01"),
        metadata={
            "tier": "gold",
            "points": 120,
            "ratio": 0.5,
            "vip": True,
            "age": "36",
            "note": "50%_off",
            "tags": ["a"],
            "nil": None,
            "empty": "",
            "a.b": "dotted",
            'q"k': "quoted",
            "ключ": "значение",
            "since": "2020-05-01",
        },
    ),
    "bob": dict(
        name="bob",
        email="BOB@EXAMPLE.COM",
        **{"address.city": "Paris", "address.country": "FR"},
        birthdate="1990-02-28",
        created_at=ms("2022-03-01"),
        metadata={"tier": "Gold", "points": 99.5, "vip": False, "age": "9", "note": "50 off"}
        | {"since": "2021-01-15", "big": 10},
    ),
    "cleo": dict(
        name="Élodie",
        **{"address.city": "", "address.country": "PL"},
        created_at=ms("2023-07-01"),
        metadata={"tier": "silver", "points": "120", "ratio": -1, "age": "abc", "vip": "true"}
        | {"empty": "x"},
    ),
    "dan": dict(created_at=ms("2024-01-01")),
    "eve": dict(
        name="eve%_",
        description="50%",
        created_at=ms("2024-01-01") + 1,
        metadata={"points": -3, "tier": "GOLD", "age": "010", "ratio": 1e-7},
    ),
}
EVERYONE = set(PEOPLE)


def cond(field: str, op: str, value: Any = True) -> dict[str, Any]:
    return {field: {"conditions": {op: value}}}


CASES: list[tuple[dict[str, Any], set[str]]] = [
    # text fields: exact and case-sensitive; unknown only for the negated operators
    (cond("name", "$is", "Ada Lovelace"), {"ada"}),
    (cond("name", "$is", "ada lovelace"), set()),
    (cond("name", "$is", ["bob"]), {"bob"}),
    (cond("name", "$is_not", "bob"), EVERYONE - {"bob"}),
    (cond("name", "$in", ["bob", "Élodie"]), {"bob", "cleo"}),
    (cond("name", "$not_in", ["bob", "Élodie"]), {"ada", "dan", "eve"}),
    (cond("name", "$contains", "o"), {"ada", "bob", "cleo"}),
    (cond("name", "$contains", ["%"]), {"eve"}),
    (cond("name", "$contains", "_"), {"eve"}),
    (cond("name", "$contains", "É"), {"cleo"}),
    (cond("name", "$contains", "é"), set()),
    (cond("name", "$contains", ["zz", "Love"]), {"ada"}),
    (cond("name", "$not_contain", "o"), {"dan", "eve"}),
    (cond("name", "$starts_with", "A"), {"ada"}),
    (cond("name", "$starts_with", "a"), set()),
    (cond("name", "$starts_with", "bob"), {"bob"}),
    (cond("name", "$ends_with", "%_"), {"eve"}),
    (cond("name", "$ends_with", "die"), {"cleo"}),
    (cond("name", "$ends_with", "xbob"), set()),
    (cond("name", "$has_value"), {"ada", "bob", "cleo", "eve"}),
    (cond("name", "$is_unknown", None), {"dan"}),
    (cond("email", "$is", "bob@example.com"), set()),
    (cond("address.city", "$has_value"), {"ada", "bob"}),
    (cond("address.city", "$is_unknown"), {"cleo", "dan", "eve"}),
    (cond("address.city", "$is", ""), {"cleo"}),
    (cond("address.country", "$is", ["PL"]), {"cleo"}),
    (cond("phone", "$starts_with", "+44"), {"ada"}),
    (cond("description", "$ends_with", "%"), {"eve"}),
    # dates: birthdate compares its YYYY-MM-DD text, timestamps compare milliseconds
    (cond("birthdate", "$after", "1900-01-01"), {"bob"}),
    (cond("birthdate", "$before", ["1900-01-01"]), {"ada"}),
    (cond("birthdate", "$is", "1990-02-28"), {"bob"}),
    (cond("birthdate", "$is_not", "1990-02-28"), EVERYONE - {"bob"}),
    (cond("birthdate", "$more_than_equal", "1990-02-28"), {"bob"}),
    (cond("birthdate", "$less_than", "1990-02-28"), {"ada"}),
    (cond("birthdate", "$after", "1990-02-28T23:00:00Z"), set()),
    (cond("birthday", "$is_unknown"), EVERYONE),
    (cond("created_at", "$after", "2022-03-01T00:00:00.000Z"), {"cleo", "dan", "eve"}),
    (cond("created_at", "$more_than_equal", "2022-03-01"), {"bob", "cleo", "dan", "eve"}),
    (cond("created_at", "$before", ["2022-03-01T00:00:00.000000+0000"]), {"ada"}),
    (cond("created_at", "$less_than_equal", "2024-01-01T00:00:00.001Z"), EVERYONE),
    (cond("created_at", "$is", "2024-01-01T00:00:00Z"), {"dan"}),
    (cond("created_at", "$in", ["2024-01-01T00:00:00.001Z", "2021-01-01"]), {"ada", "eve"}),
    (cond("created_at", "$more_than", "2024-01-01T01:00:00+01:00"), {"eve"}),
    (cond("updated_at", "$has_value"), {"ada"}),
    (cond("updated_at", "$is_unknown", [True]), EVERYONE - {"ada"}),
    (cond("updated_at", "$not_in", ["2021-06-01"]), EVERYONE - {"ada"}),
    # metadata: strings as text, numbers as doubles, booleans as 'true'/'false'
    (cond("metadata.tier", "$is", "gold"), {"ada"}),
    (cond("metadata.tier", "$in", ["gold", "Gold"]), {"ada", "bob"}),
    (cond("metadata.tier", "$is_not", "gold"), EVERYONE - {"ada"}),
    (cond("metadata.tier", "$not_in", ["gold", "silver"]), {"bob", "dan", "eve"}),
    (cond("metadata.tier", "$starts_with", "G"), {"bob", "eve"}),
    (cond("metadata.points", "$is", 120), {"ada", "cleo"}),
    (cond("metadata.points", "$is", "120.0"), {"ada"}),
    (cond("metadata.points", "$is", "1.2e2"), {"ada"}),
    (cond("metadata.points", "$is", 99.5), {"bob"}),
    (cond("metadata.points", "$more_than", ["100"]), {"ada", "cleo"}),
    (cond("metadata.points", "$more_than_equal", 99.5), {"ada", "bob", "cleo"}),
    (cond("metadata.points", "$less_than", 0), {"eve"}),
    (cond("metadata.points", "$less_than_equal", "-3"), {"eve"}),
    (cond("metadata.points", "$contains", "12"), {"cleo"}),
    (cond("metadata.age", "$more_than", 10), {"ada"}),
    (cond("metadata.age", "$less_than", 100), {"ada", "bob"}),
    (cond("metadata.ratio", "$less_than", 0), {"cleo"}),
    (cond("metadata.ratio", "$more_than", 0), {"ada", "eve"}),
    (cond("metadata.ratio", "$is", "1e-7"), {"eve"}),
    (cond("metadata.ratio", "$is", 0.0000001), {"eve"}),
    (cond("metadata.big", "$is", "10"), {"bob"}),
    (cond("metadata.vip", "$is", True), {"ada", "cleo"}),
    (cond("metadata.vip", "$is", "false"), {"bob"}),
    (cond("metadata.vip", "$is_not", [False]), EVERYONE - {"bob"}),
    (cond("metadata.vip", "$more_than", 0), set()),
    (cond("metadata.note", "$contains", "%_"), {"ada"}),
    (cond("metadata.note", "$starts_with", "50"), {"ada", "bob"}),
    (cond("metadata.note", "$ends_with", "off"), {"ada", "bob"}),
    (cond("metadata.note", "$not_contain", "%"), EVERYONE - {"ada"}),
    (cond("metadata.a.b", "$is", "dotted"), {"ada"}),
    (cond('metadata.q"k', "$is", "quoted"), {"ada"}),
    (cond("metadata.ключ", "$is", "значение"), {"ada"}),
    (cond("metadata.nil", "$is_unknown"), EVERYONE),
    (cond("metadata.nil", "$is", "null"), set()),
    (cond("metadata.empty", "$has_value"), {"cleo"}),
    (cond("metadata.tags", "$is", "a"), set()),
    (cond("metadata.tags", "$has_value"), {"ada"}),
    (cond("metadata.since", "$after", "2020-12-31"), {"bob"}),
    (cond("metadata.since", "$before", ["2020-12-31T00:00:00Z"]), {"ada"}),
    (cond("metadata.missing", "$is_not", "x"), EVERYONE),
    # junctions and several conditions on one field
    (cond("name", "$is", "bob") | cond("metadata.tier", "$is", "silver"), set()),
    (
        {"junction": "OR"} | cond("name", "$is", "bob") | cond("metadata.tier", "$is", "silver"),
        {"bob", "cleo"},
    ),
    (
        {"junction": "and"} | cond("metadata.tier", "$is_not", "x") | cond("name", "$has_value"),
        {"ada", "bob", "cleo", "eve"},
    ),
    ({"name": {"conditions": {"$starts_with": "A", "$ends_with": "e"}}}, {"ada"}),
    ({"name": {"conditions": {"$starts_with": "A", "$ends_with": "b"}}}, set()),
]


@pytest.fixture(scope="module")
def people(backend: Backend) -> tuple[Backend, str, dict[str, str]]:
    """The hand-picked customers in a fresh project: (backend, project id, id → label)."""
    rows = {label: customer_row(source_id=label, **values) for label, values in PEOPLE.items()}

    async def store() -> str:
        db = await database.connect(backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            return await _store(db, list(rows.values()))
        finally:
            await db.close()

    project_id = asyncio.run(store())
    return backend, project_id, {row["id"]: label for label, row in rows.items()}


class TestOperators:
    @pytest.mark.parametrize(("filter_", "expected"), CASES)
    def test_sql_and_python_select_the_same_customers(
        self, people: tuple[Backend, str, dict[str, str]], filter_: dict, expected: set[str]
    ) -> None:
        backend, project_id, labels = people
        rule = parse(filter_)

        async def run() -> tuple[set, set, set]:
            db = await database.connect(backend.url, pg_pool_min=1, pg_pool_max=1)
            try:
                return await _evaluate(db, project_id, rule)
            finally:
                await db.close()

        by_sql, by_python, by_python_dict = asyncio.run(run())
        assert {labels[i] for i in by_sql} == expected
        assert {labels[i] for i in by_python} == expected
        assert {labels[i] for i in by_python_dict} == expected


# --- property: SQL and matches() agree on random customers and rules -------------------------

CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
TEXT_POOL = ["", "a", "A", "ab", "Ab", "é", "É", "%", "_", "a%b", "a_b", "ß", "SS", "😀", "x y"]
TEXT = st.one_of(st.sampled_from(TEXT_POOL), st.text(CHARS, max_size=6))
NUMERALS = ["10", "-3.5", "010", "1e5", " 5", "5 ", "0", "-0", "0.10", "1.", ".5", "+1", "0x1F"]
NUMERALS += ["12345678901234567890.123456789", "9" * 41, "-0.000000000000000000001"]
META_KEYS = ["tier", "n", "a.b", 'q"k', "ключ", "1", "$", "a b", "\\", "x[0]", "$.x"]
DATES = st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(date.isoformat)
STAMP = st.integers(1_600_000_000_000, 1_600_000_000_000 + 5 * 86_400_000)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 10, 120, 2**53 + 1, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1e20, 1e-7, 0.1, 120.0]),
    st.sampled_from(NUMERALS),
    st.sampled_from(["true", "false", "2020-05-01", "2021-01-15T10:00:00Z"]),
    TEXT,
)
META_VALUE = SCALAR | st.lists(SCALAR, max_size=2) | st.dictionaries(st.just("k"), SCALAR)


@st.composite
def customers(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 7))):
        values: dict[str, Any] = {f: draw(st.none() | TEXT) for f in TEXT_FIELDS}
        if any(r["source_id"] == values["source_id"] for r in rows):
            values["source_id"] = None  # unique per project
        values["birthdate"] = draw(st.none() | DATES)
        values["birthday"] = draw(st.none() | DATES)
        values["created_at"] = draw(STAMP)
        values["updated_at"] = draw(st.none() | STAMP)
        values["metadata"] = draw(st.dictionaries(st.sampled_from(META_KEYS), META_VALUE))
        rows.append(customer_row(**values))
    return rows


def _seen(rows: list[dict[str, Any]], field: str) -> list[Any]:
    if field.startswith("metadata."):
        key = field[len("metadata.") :]
        return [m[key] for r in rows if key in (m := json.loads(r["metadata"]))]
    return [r[column_of(field)] for r in rows if r[column_of(field)] is not None]


def _fragment(draw: st.DrawFn, text: str) -> str:
    """A non-empty substring, prefix or suffix of `text` (or a pool string)."""
    if not text:
        return draw(st.sampled_from([t for t in TEXT_POOL if t]))
    start = draw(st.integers(0, len(text) - 1))
    return text[start : draw(st.integers(start + 1, len(text)))]


def _operand(draw: st.DrawFn, field: str, op: str, seen: list[Any]) -> Any:
    known = draw(st.sampled_from(seen)) if seen and draw(st.booleans()) else None
    if op in ("$has_value", "$is_unknown"):
        return draw(st.sampled_from([True, None, [True], "true"]))
    if field in ("created_at", "updated_at"):
        stamp = known + draw(st.sampled_from([-1, 0, 1])) if known is not None else draw(STAMP)
        return format_ms(stamp)
    if field in ("birthdate", "birthday"):
        return known or draw(DATES)
    if op in ("$contains", "$not_contain", "$starts_with", "$ends_with"):
        text = known if isinstance(known, str) else draw(TEXT)
        return _fragment(draw, text)
    if op in ("$after", "$before"):  # metadata: an ISO-8601 string
        iso = known if isinstance(known, str) and known[:4].isdigit() else None
        return iso if iso and parse_ok(iso) else draw(DATES)
    if op.startswith(("$more", "$less")):
        if isinstance(known, int | float) and not isinstance(known, bool):
            return draw(st.sampled_from([known, str(known), json.dumps(known)]))
        if isinstance(known, str) and parse_number_ok(known):
            return known
        return draw(st.floats(-1e6, 1e6) | st.integers(-1000, 1000))
    if field.startswith("metadata."):
        if isinstance(known, str | int | float):
            return known
        return draw(SCALAR.filter(lambda v: v is not None))
    return known if known is not None else draw(TEXT)


def parse_ok(text: str) -> bool:
    try:
        parse(cond("metadata.x", "$after", text))
    except InvalidPayload:
        return False
    return True


def parse_number_ok(text: str) -> bool:
    try:
        parse(cond("metadata.x", "$more_than", text))
    except InvalidPayload:
        return False
    return True


FIELD_OPS = {
    **{f: ("$is", "$is_not", "$in", "$not_in", "$has_value", "$is_unknown") for f in TEXT_FIELDS},
    "birthdate": ("$is", "$not_in", "$has_value", "$after", "$before", "$more_than_equal"),
    "birthday": ("$in", "$is_unknown", "$less_than", "$less_than_equal"),
    "created_at": ("$is", "$in", "$after", "$before", "$more_than", "$less_than_equal"),
    "updated_at": ("$is_not", "$has_value", "$is_unknown", "$after", "$before"),
}
for _f in TEXT_FIELDS:
    FIELD_OPS[_f] += ("$contains", "$not_contain", "$starts_with", "$ends_with")
META_OPS = FIELD_OPS["name"] + ("$more_than", "$less_than", "$more_than_equal")
META_OPS += ("$less_than_equal", "$after", "$before")


@st.composite
def filters(draw: st.DrawFn, rows: list[dict[str, Any]]) -> dict[str, Any]:
    fields = list(FIELD_OPS) + [f"metadata.{k}" for k in META_KEYS]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    result: dict[str, Any] = {"junction": draw(st.sampled_from(["and", "or", "AND", "Or"]))}
    for field in chosen:
        ops = META_OPS if field.startswith("metadata.") else FIELD_OPS[field]
        seen = _seen(rows, field)
        conditions = {}
        for op in draw(st.lists(st.sampled_from(ops), min_size=1, max_size=2, unique=True)):
            if op in ("$in", "$not_in") or (op in ("$is", "$contains") and draw(st.booleans())):
                count = draw(st.integers(1, 3))
                conditions[op] = [_operand(draw, field, op, seen) for _ in range(count)]
            else:
                conditions[op] = _operand(draw, field, op, seen)
        result[field] = {"conditions": conditions}
    return result


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = draw(customers())
    return rows, draw(st.lists(filters(rows), min_size=1, max_size=4))


class TestSqlAgreesWithPython:
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(scenario=scenarios())
    def test_random_rules_on_random_customers(
        self, backend: Backend, scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    ) -> None:
        rows, filters_ = scenario
        rules = [parse(f) for f in filters_]

        async def run() -> None:
            db = await database.connect(backend.url, pg_pool_min=1, pg_pool_max=1)
            try:
                project_id = await _store(db, rows)
                for filter_, rule in zip(filters_, rules, strict=True):
                    by_sql, by_python, by_python_dict = await _evaluate(db, project_id, rule)
                    assert by_sql == by_python == by_python_dict, filter_
            finally:
                await db.close()

        asyncio.run(run())
