"""The bad-input corpus: every malformed request answers a 4xx error object and changes nothing.

Run on both databases (the `server` fixture), as a hostile client would send them: nesting
beyond the JSON depth limit, values beyond the field limits (core/limits.py) in ASCII and in
four-byte characters, broken encodings, NUL, non-canonical paths, odd query keys, wrong types,
CSV edge cases, wrong methods and media types. One test walks the whole corpus so a failure
lists every case that broke; a snapshot of the project's rows before and after proves that no
refused request wrote anything.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from patrons.core import limits
from patrons.db import database
from patrons.db import tables as t
from tests.factories import create_customer

EMAIL = "corpus.person@example.org"


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None  # the exact status, when the corpus pins one


def _json(name: str, method: str, path: str, payload: Any, status: int | None = 400) -> Case:
    return Case(
        name,
        method,
        path,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
        status,
    )


def _raw(name: str, method: str, path: str, body: bytes, status: int | None = 400) -> Case:
    return Case(name, method, path, body, {"Content-Type": "application/json"}, status)


def _deep(levels: int, opener: str) -> str:
    if opener == "[":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "1" + "}" * levels


# Every endpoint that reads a JSON body (path → method).
JSON_ENDPOINTS = [
    ("POST", "/v1/customers"),
    ("PUT", f"/v1/customers/{EMAIL}"),
    ("POST", "/v1/customers/bulk/async"),
    ("POST", "/v1/customers/metadata/async"),
    ("POST", "/v1/segments"),
    ("POST", "/v1/campaigns"),
    ("POST", "/v1/vouchers"),
    ("POST", "/v1/vouchers/CORPUS-NEW"),
    ("PUT", "/v1/vouchers/CORPUS-1"),
    ("POST", "/v1/publications"),
    ("POST", "/v1/loyalties/corpus-loyalty/members"),
]

CUSTOMER_TEXT = [
    "name",
    "email",
    "phone",
    "description",
    "source_id",
]
ADDRESS_TEXT = ["city", "state", "line_1", "line_2", "country", "postal_code"]


def _over(field_name: str, char: str = "x") -> str:
    return _noise(limits.FIELD_MAX[field_name] + 1, char)


def _noise(n: int, char: str = "x") -> str:
    """n characters PostgreSQL cannot compress (a repeated one would fit a btree entry)."""
    digits = secrets.token_hex(n)[:n]
    return digits if char == "x" else "".join(chr(ord(char) + int(d, 16)) for d in digits)


def corpus() -> list[Case]:
    cases: list[Case] = []
    # --- depth: far beyond the decoder's stack, and one level over the documented limit ---
    for method, path in JSON_ENDPOINTS:
        for opener in "[{":
            body = '{"metadata":{"a":' + _deep(3000, opener) + "}}"
            cases.append(_raw(f"depth 3000 {opener} {method} {path}", method, path, body.encode()))
        over = '{"metadata":' + _deep(limits.JSON_MAX_DEPTH, "{") + "}"
        cases.append(_raw(f"depth limit+1 {method} {path}", method, path, over.encode()))
    cases.append(_raw("bare deep array", "POST", "/v1/customers", _deep(5000, "[").encode()))
    # --- sizes: every text field over its limit, ASCII and four-byte characters ---
    for name in CUSTOMER_TEXT:
        for char in ("x", "\U0001f600"):
            cases.append(
                _json(
                    f"long {name} {char!r} create",
                    "POST",
                    "/v1/customers",
                    {name: _over(name, char)},
                )
            )
        if name != "source_id":
            cases.append(
                _json(
                    f"long {name} update",
                    "PUT",
                    f"/v1/customers/{EMAIL}",
                    {name: _over(name, "\U0001f600")},
                )
            )
    for name in ADDRESS_TEXT:
        over = _over(f"address.{name}", "\U0001f600")
        cases.append(
            _json(f"long address.{name} create", "POST", "/v1/customers", {"address": {name: over}})
        )
        cases.append(
            _json(
                f"long address.{name} update",
                "PUT",
                f"/v1/customers/{EMAIL}",
                {"address": {name: over}},
            )
        )
    cases.append(
        _json(
            "long source_id upsert (3 KB)",
            "POST",
            "/v1/customers",
            {"source_id": _noise(3000), "name": "x"},
        )
    )
    big_meta = {"k": "v" * (limits.METADATA_MAX_BYTES + 1)}
    cases += [
        _json("metadata too large", "POST", "/v1/customers", {"metadata": big_meta}),
        _json(
            "metadata key too long",
            "POST",
            "/v1/customers",
            {"metadata": {"k" * (limits.METADATA_KEY_MAX + 1): 1}},
        ),
        _json(
            "metadata too deep",
            "POST",
            "/v1/customers",
            {"metadata": json.loads(_deep(limits.METADATA_MAX_DEPTH + 1, "{"))},
        ),
        _json(
            "metadata bulk too large",
            "POST",
            "/v1/customers/metadata/async",
            {"source_ids": ["a"], "metadata": big_meta},
        ),
        _json(
            "long campaign name",
            "POST",
            "/v1/campaigns",
            {
                "name": _noise(3000),
                "campaign_type": "DISCOUNT_COUPONS",
                "voucher": {
                    "type": "DISCOUNT_VOUCHER",
                    "discount": {"type": "PERCENT", "percent_off": 5},
                },
            },
        ),
        _json(
            "long voucher code",
            "POST",
            "/v1/vouchers",
            {
                "code": _noise(3000),
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 5},
            },
        ),
        _json(
            "long voucher code in path",
            "POST",
            "/v1/vouchers/" + _noise(3000),
            {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 5}},
        ),
        _json(
            "long publication source_id",
            "POST",
            "/v1/publications",
            {"source_id": _noise(3000), "voucher": "CORPUS-1", "customer": {"source_id": EMAIL}},
        ),
        _json(
            "long publication channel",
            "POST",
            "/v1/publications",
            {"channel": _noise(3000), "voucher": "CORPUS-1", "customer": {"id": "nope"}},
            None,
        ),
        _json(
            "long segment name",
            "POST",
            "/v1/segments",
            {"name": _noise(3000), "type": "static", "customers": []},
        ),
        _json(
            "long inline publication customer",
            "POST",
            "/v1/publications",
            {"voucher": "CORPUS-1", "customer": {"source_id": _noise(3000)}},
        ),
    ]
    # --- encodings ---
    cases += [
        _raw("invalid UTF-8 in body", "POST", "/v1/customers", b'{"name": "\xff\xfe"}'),
        _raw("UTF-16 body", "POST", "/v1/customers", '{"name": "x"}'.encode("utf-16")),
        _raw("lone surrogate", "POST", "/v1/customers", b'{"name": "\\ud800"}'),
        _raw(
            "lone surrogate in metadata key",
            "POST",
            "/v1/customers",
            b'{"metadata": {"\\udc00": 1}}',
        ),
        _raw("lone surrogate in source_id", "POST", "/v1/customers", b'{"source_id": "a\\ud800"}'),
        _raw(
            "lone surrogate in segment",
            "POST",
            "/v1/segments",
            b'{"name": "\\ud800", "type": "static", "customers": []}',
        ),
        _raw("truncated JSON", "POST", "/v1/customers", b'{"name": "x"'),
        _raw("trailing garbage", "POST", "/v1/customers", b'{"name": "x"} x'),
        _raw("JSON with comments", "POST", "/v1/customers", b'{"name": "x" /* c */}'),
        _raw("NaN", "POST", "/v1/customers", b'{"metadata": {"a": NaN}}'),
        _raw("single quotes", "POST", "/v1/customers", b"{'name': 'x'}"),
    ]
    # --- NUL ---
    cases += [
        _raw("NUL in name", "POST", "/v1/customers", b'{"name": "a\\u0000b"}'),
        _raw("NUL in metadata key", "POST", "/v1/customers", b'{"metadata": {"a\\u0000": 1}}'),
        _raw("NUL in metadata value", "POST", "/v1/customers", b'{"metadata": {"a": "\\u0000"}}'),
        _raw("NUL in bulk", "POST", "/v1/customers/bulk/async", b'[{"source_id": "\\u0000"}]'),
        _raw(
            "NUL in segment",
            "POST",
            "/v1/segments",
            b'{"name": "\\u0000", "type": "static", "customers": []}',
        ),
        _raw("raw NUL byte", "POST", "/v1/customers", b'{"name": "a\x00b"}'),
        Case("NUL in path id", "GET", "/v1/customers/a%00b", status=404),
        Case("NUL in query", "GET", "/v1/customers?email=a%00b", status=400),
        Case("NUL in query key", "GET", "/v1/customers?a%00=1", status=400),
        Case(
            "NUL in redeemables filter",
            "GET",
            f"/v1/customers/{EMAIL}/redeemables?filters[id][conditions][$is]=%00",
            status=400,
        ),
    ]
    # --- odd paths ---
    for path in [
        f"//v1/customers/{EMAIL}",
        "//v1/customers",
        "///v1/customers",
        "/v1//customers",
        f"/v1/customers//{EMAIL}",
        "/v1/./customers",
        "/v1/customers/../segments",
        "/v1/nothing",
        f"/v1/customers/{EMAIL}/nothing",
        "/v1/customers/%",
        "/v1/customers/%ZZ",
        "/v1/customers/%ff%fe",
        "/v1/customers/" + "x" * 8000,
        "/v1/segments/" + "s" * 8000,
        "/v1/async-actions/%00",
        "/v1/campaigns/%ff",
        "/v1/vouchers/%C0%AF",
        "/v1/customers/%EF%BC%A1",  # full-width A: a different source_id, unknown
    ]:
        cases.append(Case(f"path {path[:40]}", "GET", path, status=404))
    cases.append(
        Case(
            "odd path POST",
            "POST",
            "//v1/customers",
            b"{}",
            {"Content-Type": "application/json"},
            404,
        )
    )
    # --- query keys and values ---
    for query in [
        "?=true",
        "?0=x",
        "?[]=x",
        "?filters[0]=x",
        "?0[a]=1",
        "?=&=",
    ]:
        # Unknown keys are ignored by a list (200) and refused where a value is required.
        cases.append(
            Case(
                f"query {query} on redeemables",
                "GET",
                f"/v1/customers/{EMAIL}/redeemables{query}",
                status=200,
            )
        )
        cases.append(Case(f"query {query} on publish", "GET", "/v1/publications/create" + query))
    for query in [
        "?limit=abc",
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?limit=1e3",
        "?limit=%C2%B2",
        "?page=0",
        "?page=100",
        "?page=abc",
        "?order=bogus",
        "?created_at[before]=notadate",
        "?created_at%5Bafter%5D=2024-13-01",
        "?updated_at[before]=x",
        "?starting_after=yesterday",
    ]:
        cases.append(Case(f"customers list {query}", "GET", "/v1/customers" + query, status=400))
    cases += [
        Case("segments limit", "GET", "/v1/segments?limit=1000", status=400),
        Case("async actions end_date", "GET", "/v1/async-actions?end_date=never", status=400),
        Case("async actions limit", "GET", "/v1/async-actions?limit=x", status=400),
        Case("campaigns order", "GET", "/v1/campaigns?order=bogus", status=400),
        Case(
            "activity cursor",
            "GET",
            f"/v1/customers/{EMAIL}/activity?starting_after_id=evcus_nope",
            status=400,
        ),
        Case("activity type", "GET", f"/v1/customers/{EMAIL}/activity?type=nope", status=400),
        Case("activity limit", "GET", f"/v1/customers/{EMAIL}/activity?limit=0", status=400),
        Case(
            "activities date", "GET", f"/v1/customers/{EMAIL}/activities?start_date=x", status=400
        ),
        Case(
            "redeemables limit", "GET", f"/v1/customers/{EMAIL}/redeemables?limit=500", status=400
        ),
        Case("redeemables order", "GET", f"/v1/customers/{EMAIL}/redeemables?order=x", status=400),
        Case(
            "redeemables junction",
            "GET",
            f"/v1/customers/{EMAIL}/redeemables?filters[junction]=xor",
            status=400,
        ),
        Case(
            "redeemables date",
            "GET",
            f"/v1/customers/{EMAIL}/redeemables?filters[created_at][conditions][$after]=x",
            status=400,
        ),
    ]
    # --- wrong types ---
    for payload in [
        {"email": 5},
        {"name": ["x"]},
        {"phone": {}},
        {"description": True},
        {"birthdate": "10/12/1990"},
        {"birthdate": "1990-02-30"},
        {"birthday": 19900101},
        {"address": "London"},
        {"address": {"city": 7}},
        {"address": []},
        {"metadata": [1]},
        {"metadata": "x"},
        {"source_id": 12},
        {"id": 5},
    ]:
        cases.append(_json(f"type {payload}", "POST", "/v1/customers", payload))
        if "id" not in payload and "source_id" not in payload:  # PUT ignores both (JS SDK)
            cases.append(_json(f"type {payload} PUT", "PUT", f"/v1/customers/{EMAIL}", payload))
    cases += [
        _json("id naming nobody", "POST", "/v1/customers", {"id": "cust_nope"}, 404),
        _raw("non-object body", "POST", "/v1/customers", b"[1]"),
        _raw("empty body", "POST", "/v1/customers", b""),
        _raw("null body", "POST", "/v1/customers", b"null"),
        _json("bulk empty", "POST", "/v1/customers/bulk/async", []),
        _json("bulk object", "POST", "/v1/customers/bulk/async", {"source_id": "a"}),
        _json("bulk no source_id", "POST", "/v1/customers/bulk/async", [{"name": "x"}]),
        _json("bulk source_id int", "POST", "/v1/customers/bulk/async", [{"source_id": 1}]),
        _json(
            "metadata bulk empty ids",
            "POST",
            "/v1/customers/metadata/async",
            {"source_ids": [], "metadata": {"a": 1}},
        ),
        _json(
            "metadata bulk no metadata",
            "POST",
            "/v1/customers/metadata/async",
            {"source_ids": ["a"]},
        ),
        _json(
            "metadata bulk ids not list",
            "POST",
            "/v1/customers/metadata/async",
            {"source_ids": "a", "metadata": {}},
        ),
        _json("segment no name", "POST", "/v1/segments", {"type": "static", "customers": []}),
        _json("segment bad type", "POST", "/v1/segments", {"name": "s", "type": "dynamic"}),
        _json(
            "segment filter not object",
            "POST",
            "/v1/segments",
            {"name": "s", "type": "auto-update", "filter": "x"},
        ),
        _json(
            "segment unknown operator",
            "POST",
            "/v1/segments",
            {
                "name": "s",
                "type": "auto-update",
                "filter": {"junction": "and", "name": {"conditions": {"$bogus": ["x"]}}},
            },
        ),
        _json(
            "segment customers not list",
            "POST",
            "/v1/segments",
            {"name": "s", "type": "static", "customers": "x"},
        ),
        _json("campaign bad type", "POST", "/v1/campaigns", {"name": "c", "campaign_type": "NOPE"}),
        _json(
            "campaign voucher not object",
            "POST",
            "/v1/campaigns",
            {"name": "c", "campaign_type": "DISCOUNT_COUPONS", "voucher": 5},
        ),
        _json("voucher bad type", "POST", "/v1/vouchers", {"type": "NOPE"}),
        _json(
            "voucher discount not object",
            "POST",
            "/v1/vouchers",
            {"type": "DISCOUNT_VOUCHER", "discount": "10%"},
        ),
        _json(
            "publication customer number",
            "POST",
            "/v1/publications",
            {"voucher": "CORPUS-1", "customer": 5},
        ),
        _json("publication nothing", "POST", "/v1/publications", {}),
        _json(
            "publication unknown voucher",
            "POST",
            "/v1/publications",
            {"voucher": "NOPE", "customer": {"id": "cust_nope"}},
            None,
        ),
    ]
    # --- CSV imports ---
    boundary = "corpusboundary"

    def multipart(content: bytes, *, name: str = "file") -> bytes:
        return (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )

    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    for label, content in [
        ("non-UTF-8", b"Source_id,Name\r\na,\xff\xfe\r\n"),
        ("NUL", b"Source_id,Name\r\na,b\x00c\r\n"),
        ("empty", b""),
        ("only BOM", b"\xef\xbb\xbf"),
        ("UTF-16", "Source_id,Name\r\na,b\r\n".encode("utf-16")),
    ]:
        cases.append(
            Case(f"csv {label}", "POST", "/v1/customers/importCSV", multipart(content), form, 400)
        )
    cases += [
        Case(
            "csv wrong part",
            "POST",
            "/v1/customers/importCSV",
            multipart(b"Source_id\r\na\r\n", name="other"),
            form,
            400,
        ),
        Case(
            "csv not multipart",
            "POST",
            "/v1/customers/importCSV",
            b"Source_id\na\n",
            {"Content-Type": "text/csv"},
            None,
        ),
        Case(
            "csv no boundary",
            "POST",
            "/v1/customers/importCSV",
            b"x",
            {"Content-Type": "multipart/form-data"},
            400,
        ),
        Case(
            "csv broken multipart",
            "POST",
            "/v1/customers/importCSV",
            b"--corpusboundary\r\ngarbage",
            form,
            400,
        ),
    ]
    # --- methods, media types, sizes ---
    cases += [
        Case("PATCH customers", "PATCH", "/v1/customers", status=405),
        Case("DELETE customers", "DELETE", "/v1/customers", status=405),
        Case("PUT segments", "PUT", "/v1/segments", status=405),
        Case(
            "POST customer by id",
            "POST",
            f"/v1/customers/{EMAIL}",
            b"{}",
            {"Content-Type": "application/json"},
            405,
        ),
        Case("DELETE async action", "DELETE", "/v1/async-actions/aa_x", status=405),
        Case("text/plain", "POST", "/v1/customers", b"name=x", {"Content-Type": "text/plain"}, 415),
        Case("xml", "POST", "/v1/customers", b"<c/>", {"Content-Type": "application/xml"}, 415),
        Case(
            "form on customers",
            "POST",
            "/v1/customers",
            b"name=x",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
        ),
        Case(
            "declared length over the limit",
            "POST",
            "/v1/customers/bulk/async",
            b"[]",
            {"Content-Type": "application/json", "Content-Length": str(1 << 40)},
            413,
        ),
    ]
    return cases


def _seed(api: httpx.Client) -> None:
    create_customer(api, source_id=EMAIL, email=EMAIL, name="Corpus Person")
    response = api.post(
        "/v1/vouchers/CORPUS-1",
        json={"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 5}},
    )
    assert response.status_code == 200, response.text


_SKIP_TABLES = {"rate_limit_window", "oauth_token", "idempotency_key"}


def snapshot(url: str, project_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the project owns, table by table, in a stable order."""

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        db = await database.connect(url, pg_pool_min=1, pg_pool_max=1)
        try:
            found: dict[str, list[tuple[Any, ...]]] = {}
            for table in t.metadata.sorted_tables:
                if table.name in _SKIP_TABLES or "project_id" not in table.columns:
                    continue
                rows = await db.fetch(
                    f"SELECT * FROM {table.name} WHERE project_id = $1", project_id
                )
                found[table.name] = sorted(tuple(map(str, row)) for row in rows)
            return found
        finally:
            await db.close()

    return asyncio.run(read())


def test_corpus_is_large_enough() -> None:
    assert len(corpus()) >= 150


@pytest.mark.slow
def test_every_bad_input_is_a_4xx_error_object_and_changes_nothing(server, project, api) -> None:
    _seed(api)
    before = snapshot(server.backend.url, project.id)
    failures: list[str] = []
    for case in corpus():
        try:
            response = send_raw(server.base_url, case, {**project.headers, **case.headers})
        except OSError as exc:
            failures.append(f"{case.name}: transport error {type(exc).__name__}")
            continue
        problem = _problem(case, response)
        if problem:
            failures.append(f"{case.name}: {problem}")
    after = snapshot(server.backend.url, project.id)
    assert not failures, "\n".join(failures)
    assert after == before


def send_raw(base_url: str, case: Case, headers: dict[str, str]) -> httpx.Response:
    """The request with its path exactly as written (httpx would resolve `//`, `.`, `..`)."""
    url = httpx.URL(base_url)
    conn = http.client.HTTPConnection(url.host, url.port, timeout=60)
    try:
        conn.putrequest(case.method, case.path, skip_accept_encoding=True)
        body = case.body or b""
        for name, value in headers.items():
            conn.putheader(name, value)
        if "Content-Length" not in headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        answer = conn.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        conn.close()


def _problem(case: Case, response: httpx.Response) -> str | None:
    status = response.status_code
    if case.status == 200 and status < 500:  # tolerated or refused (read-only requests)
        return None if status == 200 else _problem(Case(case.name, "", ""), response)
    if not 400 <= status < 500:
        return f"status {status}: {response.text[:200]}"
    if case.status is not None and status != case.status:
        return f"status {status}, expected {case.status}: {response.text[:200]}"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return "not JSON"
    body = response.json()
    if status == 413:
        return None if body.get("statusCode") == 413 else f"413 shape: {body}"
    if body.get("code") != status or not body.get("message"):
        return f"not an error object: {body}"
    if body.get("request_id") != response.headers.get("x-request-id"):
        return "request id missing"
    return None
