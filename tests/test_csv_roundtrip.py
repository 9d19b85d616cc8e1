"""POST /v1/customers/importCSV round trip: what Python's csv module writes is what comes back.

A hypothesis property test writes generated customers (arbitrary text with commas, quotes,
newlines and unicode) as CSV in the spellings a real file may have — CRLF or LF, with or without
a UTF-8 BOM, `Address_City` or `City`, any header case, any column order, minimal or full
quoting — imports it, waits for the job and reads every customer back. Plain tests cover the
edges: blank lines, multi-line quoted fields, rejected rows, duplicate source_ids and files
without a Source_id column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.conftest import Project, Server, new_project

# Standard columns (WIRE-FORMAT §4.6): field → accepted header spellings.
COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("Source_id",),
    "name": ("Name",),
    "email": ("Email",),
    "phone": ("Phone",),
    "birthdate": ("Birthdate",),
    "description": ("Description",),
    "line_1": ("Address_line_1",),
    "line_2": ("Address_line_2",),
    "postal_code": ("Address_Postal_Code", "Postal_Code"),
    "city": ("Address_City", "City"),
    "state": ("Address_State", "State"),
    "country": ("Address_Country", "Country"),
}
SCALARS = ("name", "email", "phone", "birthdate", "description")
ADDRESS = ("line_1", "line_2", "postal_code", "city", "state", "country")
# Header names a metadata column must not take (any case): standard spellings and `Id`. The
# deprecated `birthday` is left out too: whether it is a column or metadata is unsettled.
RESERVED = {h.lower() for spellings in COLUMNS.values() for h in spellings} | {"id", "birthday"}

ANY_CHAR = st.characters(codec="utf-8", exclude_characters="\x00")  # no NUL, no surrogates
TEXT = st.text(
    st.one_of(st.sampled_from([",", '"', "'", "\n", "\r", " ", "\t", ";"]), ANY_CHAR),
    max_size=12,
)
# An id: no leading/trailing whitespace (the importer trims the Source_id cell).
SOURCE_ID = st.text(st.one_of(st.sampled_from([",", '"', "\n", " "]), ANY_CHAR), min_size=1).filter(
    lambda s: s.strip() == s
)
# Header names: no whitespace (the spec forbids spaces), no BOM, not a standard name.
METADATA_KEY = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00\ufeff", exclude_categories=("Cc",)),
    min_size=1,
    max_size=10,
).filter(lambda k: not any(c.isspace() for c in k) and k.lower() not in RESERVED)
HEADER_CASE = st.sampled_from([str, str.lower, str.upper, str.swapcase])


def upload(api: httpx.Client, data: bytes) -> httpx.Response:
    return api.post("/v1/customers/importCSV", files={"file": ("customers.csv", data, "text/csv")})


def wait_done(api: httpx.Client, action_id: str, timeout: float = 60.0) -> dict[str, Any]:
    action = factories.wait_done(api, action_id, timeout=timeout)
    assert action["status"] == "DONE", action
    return action


def import_csv(api: httpx.Client, data: bytes | str) -> dict[str, Any]:
    """Upload, expect 202, wait for DONE; returns the action's `result`."""
    response = upload(api, data.encode() if isinstance(data, str) else data)
    assert response.status_code == 202, response.text
    action = wait_done(api, response.json()["async_action_id"])
    assert action["type"] == "CUSTOMERS.IMPORT_CSV"
    assert action["progress"] == 100
    return action["result"]


def all_customers(api: httpx.Client) -> list[dict[str, Any]]:
    response = api.get("/v1/customers", params={"limit": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["customers"]), body["total"]
    return body["customers"]


def by_source_id(api: httpx.Client) -> dict[str | None, dict[str, Any]]:
    customers = all_customers(api)
    found = {c["source_id"]: c for c in customers}
    assert len(found) == len(customers), [c["source_id"] for c in customers]
    return found


def write_csv(
    rows: list[list[str]], *, line_ending: str = "\n", bom: bool = False, quote_all: bool = False
) -> bytes:
    """Rows as CSV by Python's csv module, with the given line ending.

    Each row is written with a CRLF terminator and then given `line_ending`: with
    lineterminator="\\n" Python 3.11's writer leaves a lone "\\r" unquoted, which no reader can
    tell from a line break.
    """
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    lines = []
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n", quoting=quoting).writerow(row)
        lines.append(buffer.getvalue()[:-2] + line_ending)
    return (("\ufeff" if bom else "") + "".join(lines)).encode()


def expected_customer(values: dict[str, str | None], metadata: dict[str, str | None]) -> dict:
    """What the API must return for one imported row (empty cells are null / absent)."""
    address = {field: values.get(field) or None for field in ADDRESS}
    return {
        "source_id": values.get("source_id") or None,
        **{field: values.get(field) or None for field in SCALARS},
        "birthday": None,
        # The address carries the columns the row filled (WIRE-FORMAT §3.1: keys as sent).
        "address": {k: v for k, v in address.items() if v} or None,
        "metadata": {k: v for k, v in metadata.items() if v},
    }


def actual_customer(customer: dict[str, Any]) -> dict:
    return {
        "source_id": customer["source_id"],
        **{field: customer.get(field) for field in SCALARS},  # unset ones are left out
        "birthday": customer["birthday"],
        "address": customer["address"],
        "metadata": customer.get("metadata", {}),  # absent while empty
    }


# --------------------------------------------------------------------------------------------
# The property


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[dict]]:
    """(file bytes, expected customers) for up to 20 customers with unique source_ids."""
    optional = draw(st.sets(st.sampled_from([f for f in COLUMNS if f != "source_id"])))
    fields = ["source_id", *(f for f in COLUMNS if f in optional)]
    keys = draw(st.lists(METADATA_KEY, max_size=4, unique_by=str.lower))
    source_ids = draw(st.lists(SOURCE_ID, max_size=20, unique=True))
    rows: list[tuple[dict[str, str | None], dict[str, str | None]]] = []
    for source_id in source_ids:
        values: dict[str, str | None] = {"source_id": source_id}
        for field in fields[1:]:
            if field == "birthdate":
                day = draw(st.none() | st.dates())
                values[field] = None if day is None else day.isoformat()
            else:
                values[field] = draw(st.none() | TEXT)
        metadata = {key: draw(st.none() | TEXT) for key in keys}
        rows.append((values, metadata))

    spell = draw(st.fixed_dictionaries({f: st.sampled_from(COLUMNS[f]) for f in fields}))
    case = draw(st.fixed_dictionaries({f: HEADER_CASE for f in fields}))
    header = [case[f](spell[f]) for f in fields] + keys
    order = draw(st.permutations(range(len(header))))
    table = [header] + [
        [*(v.get(f) or "" for f in fields), *(m[k] or "" for k in keys)] for v, m in rows
    ]
    data = write_csv(
        [[line[i] for i in order] for line in table],
        line_ending=draw(st.sampled_from(["\n", "\r\n"])),
        bom=draw(st.booleans()),
        quote_all=draw(st.booleans()),
    )
    return data, [expected_customer(v, m) for v, m in rows]


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=csv_files())
def test_csv_round_trip(server: Server, case: tuple[bytes, list[dict]]) -> None:
    data, expected = case
    project = new_project(server.backend)  # each example gets an empty project
    with httpx.Client(base_url=server.base_url, headers=project.headers, timeout=30) as api:
        result = import_csv(api, data)
        assert result["failed"] == [], result
        assert (result["done_count"], result["failed_count"]) == (len(expected), 0)
        assert result["message"] == f"{len(expected)} customer(s) imported successfully, 0 failed."
        got = by_source_id(api)
        assert set(got) == {c["source_id"] for c in expected}
        for want in expected:
            assert actual_customer(got[want["source_id"]]) == want


# --------------------------------------------------------------------------------------------
# Edge cases


def test_write_csv_helper_quotes_lone_carriage_returns() -> None:
    data = write_csv([["a\rb", "c"]], line_ending="\n")
    assert data == b'"a\rb",c\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [["a\rb", "c"]]


def test_blank_lines_are_skipped(api: httpx.Client) -> None:
    result = import_csv(api, "Source_id,Name\r\n\r\na,Ada\r\n\r\n\r\nb,Bob\r\n\r\n")
    assert (result["done_count"], result["failed_count"], result["failed"]) == (2, 0, [])
    got = by_source_id(api)
    assert {k: v["name"] for k, v in got.items()} == {"a": "Ada", "b": "Bob"}


def test_blank_lines_do_not_shift_row_numbers(api: httpx.Client) -> None:
    # `row` counts data rows from 1, not counting the header (WIRE-FORMAT §3.7).
    result = import_csv(api, "Source_id,Birthdate\n\nok,\n\n\nbad,someday\n\nok2,2000-01-01\n")
    assert (result["done_count"], result["failed_count"]) == (2, 1)
    assert [(f["row"], f["source_id"]) for f in result["failed"]] == [(2, "bad")]


def test_file_without_trailing_newline(api: httpx.Client) -> None:
    result = import_csv(api, "Source_id,Name\na,Ada\nb,Bob")
    assert result["done_count"] == 2
    assert {k: v["name"] for k, v in by_source_id(api).items()} == {"a": "Ada", "b": "Bob"}


def test_quoted_fields_with_commas_quotes_and_newlines(api: httpx.Client) -> None:
    data = (
        "Source_id,Name,Address_line_1,Description,notes\r\n"
        '"q,1","Lovelace, Ada","12 Byron St\r\nFlat 2","She said ""hi""\nthen left","a,b"\r\n'
        'q2,"multi\n\nline",,"""",\r\n'
    )
    result = import_csv(api, data)
    assert (result["done_count"], result["failed_count"]) == (2, 0)
    got = by_source_id(api)
    assert got["q,1"]["name"] == "Lovelace, Ada"
    assert got["q,1"]["address"]["line_1"] == "12 Byron St\r\nFlat 2"
    assert got["q,1"]["description"] == 'She said "hi"\nthen left'
    assert got["q,1"]["metadata"] == {"notes": "a,b"}
    assert got["q2"]["name"] == "multi\n\nline"
    assert got["q2"]["address"] is None
    assert got["q2"]["description"] == '"'
    assert "metadata" not in got["q2"]


def test_bom_is_not_part_of_the_first_header(api: httpx.Client) -> None:
    result = import_csv(api, "\ufeffSource_id,Name\r\na,Ada\r\n")
    assert (result["done_count"], result["failed_count"]) == (1, 0)
    got = by_source_id(api)
    assert list(got) == ["a"]
    assert "metadata" not in got["a"]


def test_bom_and_quoted_header(api: httpx.Client) -> None:
    # Spreadsheets write "CSV UTF-8" with a BOM; some quote every header cell.
    data = write_csv([["Source_id", "Name", "vip"], ["a", "Ada", "yes"]], bom=True, quote_all=True)
    assert data.startswith(b'\xef\xbb\xbf"Source_id"')
    result = import_csv(api, data)
    assert (result["done_count"], result["failed_count"]) == (1, 0)
    got = by_source_id(api)
    assert list(got) == ["a"]
    assert got["a"]["name"] == "Ada"
    assert got["a"]["metadata"] == {"vip": "yes"}


def test_malformed_rows_are_reported_and_the_others_import(api: httpx.Client) -> None:
    data = (
        "Source_id,Name,Birthdate,tier\n"
        "ok-1,Ada,1990-12-10,gold\n"
        "too-few,Bob\n"
        "too-many,Cy,,x,extra\n"
        "bad-day,Di,1990-02-31,\n"
        "bad-format,Ed,12/10/1990,\n"
        "ok-2,Fay,,\n"
    )
    result = import_csv(api, data)
    assert result["done_count"] == 2
    assert result["failed_count"] == 4
    assert result["message"] == "2 customer(s) imported successfully, 4 failed."
    failed = result["failed"]
    assert [(f["row"], f["source_id"]) for f in failed] == [
        (2, "too-few"),
        (3, "too-many"),
        (4, "bad-day"),
        (5, "bad-format"),
    ]
    assert all(isinstance(f["reason"], str) and f["reason"] for f in failed)
    assert "column" in failed[0]["reason"].lower()
    assert "column" in failed[1]["reason"].lower()
    assert "birthdate" in failed[2]["reason"].lower()
    assert "birthdate" in failed[3]["reason"].lower()
    got = by_source_id(api)
    assert set(got) == {"ok-1", "ok-2"}
    assert got["ok-1"]["birthdate"] == "1990-12-10"
    assert got["ok-1"]["metadata"] == {"tier": "gold"}


def test_failed_row_without_source_id_reports_empty_string(api: httpx.Client) -> None:
    result = import_csv(api, "Source_id,Birthdate\n,not-a-date\nok,\n")
    assert result["done_count"] == 1
    assert result["failed"] == [
        {"source_id": "", "row": 1, "reason": result["failed"][0]["reason"]}
    ]


def test_duplicate_source_ids_last_row_wins(api: httpx.Client) -> None:
    data = (
        "Source_id,Name,Email,City,tier\n"
        "dup,First,first@x.org,London,gold\n"
        "other,Other,,,\n"
        "dup,Second,,,silver\n"
    )
    result = import_csv(api, data)
    assert result["failed_count"] == 0
    assert result["done_count"] == 3  # every row was imported; the last one for `dup` won
    got = by_source_id(api)
    assert set(got) == {"dup", "other"}
    assert actual_customer(got["dup"]) == {
        "source_id": "dup",
        "name": "Second",
        "email": None,  # full overwrite: the first row's email does not survive
        "phone": None,
        "birthdate": None,
        "description": None,
        "birthday": None,
        "address": None,
        "metadata": {"tier": "silver"},
    }


def test_duplicate_source_id_of_an_existing_customer(api: httpx.Client) -> None:
    created = api.post("/v1/customers", json={"source_id": "dup", "name": "Before"}).json()
    result = import_csv(api, "Source_id,Name\ndup,First\ndup,Second\n")
    assert (result["done_count"], result["failed_count"]) == (2, 0)
    got = by_source_id(api)
    assert list(got) == ["dup"]
    assert got["dup"]["id"] == created["id"]
    assert got["dup"]["name"] == "Second"


def test_without_source_id_column_every_row_is_a_new_customer(api: httpx.Client) -> None:
    data = "Name,Email,vip\nAda,ada@x.org,yes\nAda,ada@x.org,yes\nBob,,\n"
    result = import_csv(api, data)
    assert (result["done_count"], result["failed_count"]) == (3, 0)
    customers = all_customers(api)
    assert len(customers) == 3
    assert len({c["id"] for c in customers}) == 3
    assert all(c["source_id"] is None for c in customers)
    assert sorted(
        (c["name"], c.get("email"), c.get("metadata", {}).get("vip")) for c in customers
    ) == [
        ("Ada", "ada@x.org", "yes"),
        ("Ada", "ada@x.org", "yes"),
        ("Bob", None, None),
    ]
    # Importing the same file again creates three more: there is nothing to match on.
    assert import_csv(api, data)["done_count"] == 3
    assert len(all_customers(api)) == 6


def test_header_only_file_imports_nothing(api: httpx.Client) -> None:
    result = import_csv(api, "Source_id,Name\n")
    assert result == {**result, "done_count": 0, "failed_count": 0, "failed": []}
    assert all_customers(api) == []


def test_import_lands_in_the_callers_project_only(server: Server, project: Project) -> None:
    other = new_project(server.backend)
    with (
        httpx.Client(base_url=server.base_url, headers=project.headers, timeout=30) as api,
        httpx.Client(base_url=server.base_url, headers=other.headers, timeout=30) as other_api,
    ):
        import_csv(api, "Source_id,Name\nx,Mine\n")
        assert all_customers(other_api) == []
        assert by_source_id(api)["x"]["name"] == "Mine"


def test_file_larger_than_one_storage_piece(api: httpx.Client) -> None:
    """Over 1 MiB, several worker chunks: a quoted multi-line field with multibyte text
    straddles the 1 MiB storage boundary, and row numbers keep counting across chunks."""
    piece = 1 << 20
    lines = ["Source_id,Name,Birthdate,note\n"]
    size = len(lines[0])
    while size < piece - 200:
        lines.append(f"s{len(lines)},Name {len(lines)},,é{'x' * 60}\n")
        size += len(lines[-1].encode())
    straddler = len(lines)
    long_name = "multi\nline " + "日本" * 100 + "\nend"
    lines.append(f's{straddler},"{long_name}",1990-12-10,ü\n')
    lines.extend(f"s{n},Name {n},,é\n" for n in range(len(lines), len(lines) + 3000))
    bad = len(lines)
    lines.append(f"s{bad},Bad,1990-13-01,\n")
    lines.append(f"s{bad + 1},Last,,\n")
    data = "".join(lines).encode()
    assert len(data) > piece
    rows = len(lines) - 1
    result = import_csv(api, data)
    assert (result["done_count"], result["failed_count"]) == (rows - 1, 1)
    assert [(f["row"], f["source_id"]) for f in result["failed"]] == [(bad, f"s{bad}")]
    got = api.get(f"/v1/customers/s{straddler}").json()
    assert (got["name"], got["birthdate"], got["metadata"]) == (
        long_name,
        "1990-12-10",
        {"note": "ü"},
    )
    assert api.get(f"/v1/customers/s{bad + 1}").json()["name"] == "Last"
    assert api.get("/v1/customers").json()["total"] == rows - 1
