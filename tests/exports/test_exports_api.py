"""/v1/exports over HTTP on both databases: create → SCHEDULED … DONE → download the CSV from
`result.url` (no API keys, the token is the key); fields, metadata.<key>, filters, order;
vouchers; formula-injection escaping; bad input; tenant walls; DELETE (issue 18)."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.exports.conftest import CHUNK_ROWS
from tests.factories import create_customer, create_voucher, db_fetch, seed_customers
from tests.helpers import assert_error

EXPORT_ID = re.compile(r"^exp_[A-Za-z0-9]{24}$")


def create_export(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/exports", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def wait_export(api: httpx.Client, export_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll GET /v1/exports/{id} until it is DONE or ERROR."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/exports/{export_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("DONE", "ERROR"):
            return body
        assert body["status"] in ("SCHEDULED", "IN_PROGRESS"), body
        if time.monotonic() > deadline:
            raise AssertionError(f"export still {body['status']}: {body}")
        time.sleep(0.05)


def download(url: str) -> list[list[str]]:
    """The CSV at `url`, fetched with no API keys at all."""
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def export_rows(api: httpx.Client, **body: Any) -> tuple[dict[str, Any], list[list[str]]]:
    created = create_export(api, **body)
    done = wait_export(api, created["id"])
    assert done["status"] == "DONE", done
    return done, download(done["result"]["url"])


class TestCustomerExport:
    def test_the_default_fields_hold_every_customer(self, api: httpx.Client, server: Server):
        made = [create_customer(api, source_id=f"c{i:02d}", name=f"N{i}") for i in range(17)]

        created = create_export(api, exported_object="customer")
        assert EXPORT_ID.match(created["id"])
        assert created["object"] == "export"
        assert created["status"] == "SCHEDULED"
        assert created["result"] is None
        assert (created["channel"], created["exported_object"]) == ("API", "customer")
        assert created["user_id"] is None
        assert created["parameters"] == {
            "fields": ["name", "source_id"],
            "filters": {"junction": "and"},
        }
        done = wait_export(api, created["id"])

        assert done["status"] == "DONE"
        url = done["result"]["url"]
        assert url.startswith(server.base_url + "/downloads/exports/")
        rows = download(url)
        assert rows[0] == ["name", "source_id"]
        # 17 rows cross two chunk boundaries (7 per chunk); oldest first, each exactly once
        assert rows[1:] == [[c["name"], c["source_id"]] for c in made]

    def test_chosen_fields_metadata_filters_and_order(self, api: httpx.Client):
        for i in range(12):
            create_customer(
                api,
                source_id=f"m{i:02d}",
                email=f"m{i}@example.com",
                metadata={"tier": "gold" if i % 3 == 0 else "silver", "n": i},
            )
        create_customer(api, source_id="no-meta")

        done, rows = export_rows(
            api,
            exported_object="customer",
            parameters={
                "fields": ["source_id", "email", "metadata.tier", "metadata.n", "created_at"],
                "filters": {"junction": "and", "metadata.tier": {"conditions": {"$is": "gold"}}},
                "order": "-source_id",
            },
        )

        assert done["parameters"]["order"] == "-source_id"
        assert rows[0] == ["source_id", "email", "metadata.tier", "metadata.n", "created_at"]
        assert [r[:4] for r in rows[1:]] == [
            [f"m{i:02d}", f"m{i}@example.com", "gold", str(i)] for i in (9, 6, 3, 0)
        ]
        assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r[4]) for r in rows[1:])

    def test_order_by_a_nullable_column_keeps_every_row(self, api: httpx.Client):
        # name NULL for some: they sort first ascending, last descending, never lost at a
        # chunk boundary
        for i in range(10):
            create_customer(api, source_id=f"n{i}", name=None if i % 2 else f"name{i}")
        up = export_rows(
            api, exported_object="customer", parameters={"fields": ["source_id"], "order": "name"}
        )[1]
        down = export_rows(
            api, exported_object="customer", parameters={"fields": ["source_id"], "order": "-name"}
        )[1]

        assert sorted(r[0] for r in up[1:]) == [f"n{i}" for i in range(10)]
        assert [r[0] for r in up[1:]] == [r[0] for r in down[1:]][::-1] or len(
            {r[0] for r in up[1:]}
        ) == 10  # ids break ties of NULL names in opposite directions
        assert [r[0] for r in up[1:]][5:] == ["n0", "n2", "n4", "n6", "n8"]
        assert [r[0] for r in down[1:]][:5] == ["n8", "n6", "n4", "n2", "n0"]

    def test_a_created_at_filter_and_many_rows(self, api: httpx.Client, server: Server, project):
        base = 1_700_000_000_000
        seed_customers(
            server.backend.url,
            project.id,
            [{"source_id": f"s{i:03d}", "created_at": base + i * 1000} for i in range(50)],
        )

        _done, rows = export_rows(
            api,
            exported_object="customer",
            parameters={
                "fields": ["source_id"],
                "filters": {"created_at": {"conditions": {"$after": ["2023-11-14T22:13:40.000Z"]}}},
            },
        )

        # base + 20 s = 2023-11-14T22:13:40Z: rows 21..49
        assert [r[0] for r in rows[1:]] == [f"s{i:03d}" for i in range(21, 50)]

    def test_an_empty_export_is_a_header(self, api: httpx.Client):
        _done, rows = export_rows(api, exported_object="customer")
        assert rows == [["name", "source_id"]]

    def test_formula_cells_are_escaped(self, api: httpx.Client):
        names = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCr", "plain"]
        for i, name in enumerate(names):
            create_customer(api, source_id=f"f{i}", name=name, metadata={"v": name, "num": -5})

        _done, rows = export_rows(
            api,
            exported_object="customer",
            parameters={"fields": ["name", "metadata.v", "metadata.num"]},
        )

        escaped = ["'" + n for n in names[:-1]] + ["plain"]
        assert [r[0] for r in rows[1:]] == escaped
        assert [r[1] for r in rows[1:]] == escaped
        assert {r[2] for r in rows[1:]} == {"-5"}  # a JSON number is not text: left alone


class TestVoucherExport:
    def test_the_default_fields(self, api: httpx.Client):
        made = [create_voucher(api, code=f"CODE-{i}", metadata={"k": i}) for i in range(9)]
        made.append(
            create_voucher(
                api, code="GIFT-1", type="GIFT_VOUCHER", gift={"amount": 5000}, discount=None
            )
        )
        expected = {c: [c, "DISCOUNT_VOUCHER", "10", "PERCENT"] for c in (v["code"] for v in made)}
        expected["GIFT-1"] = ["GIFT-1", "GIFT_VOUCHER", "5000", ""]
        # Oldest first; vouchers made in the same millisecond are ordered by id (as the SQL).
        oldest_first = sorted(made, key=lambda v: (v["created_at"], v["id"]))

        done, rows = export_rows(api, exported_object="voucher")

        assert done["parameters"]["fields"] == ["code", "voucher_type", "value", "discount_type"]
        assert rows[0] == ["code", "voucher_type", "value", "discount_type"]
        assert rows[1:] == [expected[v["code"]] for v in oldest_first]

    def test_fields_filters_and_order(self, api: httpx.Client):
        for i in range(9):
            create_voucher(api, code=f"V{i}", metadata={"k": i})

        _done, rows = export_rows(
            api,
            exported_object="voucher",
            parameters={
                "fields": ["code", "id", "metadata.k", "active", "customer_id"],
                "filters": {"code": {"conditions": {"$starts_with": ["V"]}}},
                "order": "-code",
            },
        )

        assert [r[0] for r in rows[1:]] == [f"V{i}" for i in range(8, -1, -1)]
        assert all(r[1].startswith("v_") and r[3] == "true" and r[4] == "" for r in rows[1:])
        assert [r[2] for r in rows[1:]] == [str(i) for i in range(8, -1, -1)]


class TestList:
    def test_lists_newest_first_with_total(self, api: httpx.Client):
        first = create_export(api, exported_object="customer")
        second = create_export(api, exported_object="voucher")

        body = api.get("/v1/exports").json()
        assert (body["object"], body["data_ref"], body["total"]) == ("list", "exports", 2)
        # Newest first; two exports made in the same millisecond are ordered by id.
        older, newer = sorted((first, second), key=lambda e: (e["created_at"], e["id"]))
        assert [e["id"] for e in body["exports"]] == [newer["id"], older["id"]]
        oldest = api.get("/v1/exports", params={"order": "created_at", "limit": 1}).json()
        assert [e["id"] for e in oldest["exports"]] == [older["id"]]
        assert oldest["total"] == 2
        page2 = api.get("/v1/exports", params={"limit": 1, "page": 2}).json()
        assert [e["id"] for e in page2["exports"]] == [older["id"]]

    def test_bad_list_params(self, api: httpx.Client):
        assert_error(api.get("/v1/exports", params={"order": "name"}), 400, "invalid_query_params")
        assert_error(api.get("/v1/exports", params={"limit": 0}), 400, "invalid_query_params")


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "key"),
        [
            ({"exported_object": "product"}, "invalid_payload"),
            ({}, "invalid_payload"),
            ({"exported_object": 5}, "invalid_payload"),
            (
                {"exported_object": "customer", "parameters": {"fields": ["name", "shoe_size"]}},
                "invalid_export_fields",
            ),
            (
                {"exported_object": "voucher", "parameters": {"fields": ["email"]}},
                "invalid_export_fields",
            ),
            (
                {"exported_object": "customer", "parameters": {"fields": "name"}},
                "invalid_payload",
            ),
            ({"exported_object": "customer", "parameters": {"order": "code"}}, "invalid_payload"),
            (
                {"exported_object": "customer", "parameters": {"filters": {"shoe": {}}}},
                "invalid_payload",
            ),
            (
                {
                    "exported_object": "customer",
                    "parameters": {"filters": {"name": {"conditions": {"$bogus": "x"}}}},
                },
                "invalid_payload",
            ),
            (
                {
                    "exported_object": "voucher",
                    "parameters": {
                        "filters": {"created_at": {"conditions": {"$after": "yesterday"}}}
                    },
                },
                "invalid_payload",
            ),
            (
                {"exported_object": "customer", "parameters": {"filters": {"junction": "xor"}}},
                "invalid_payload",
            ),
            (
                {"exported_object": "customer", "parameters": {"response_format": "JSON"}},
                "invalid_payload",
            ),
        ],
    )
    def test_is_a_400_and_writes_nothing(
        self, api: httpx.Client, server: Server, project, body: dict[str, Any], key: str
    ):
        body_ = assert_error(api.post("/v1/exports", json=body), 400, key)
        if key == "invalid_export_fields":
            assert body_["message"] == "Invalid Export"
            assert body_["details"].startswith("Unsupported field used. Allowed fields:")

        assert api.get("/v1/exports").json()["total"] == 0
        assert api.get("/v1/async-actions").json()["async_actions"] == []
        assert (
            db_fetch(server.backend.url, "SELECT id FROM export WHERE project_id = $1", project.id)
            == []
        )

    def test_a_filter_message_names_the_parameter(self, api: httpx.Client):
        body = assert_error(
            api.post(
                "/v1/exports",
                json={"exported_object": "customer", "parameters": {"filters": {"shoe": {}}}},
            ),
            400,
            "invalid_payload",
        )
        assert body["details"].startswith("Property .parameters.filters.shoe")


class TestNotFoundAndWalls:
    def test_unknown_ids_are_404(self, api: httpx.Client):
        for response in (api.get("/v1/exports/exp_nope"), api.delete("/v1/exports/exp_nope")):
            body = assert_error(response, 404, "not_found")
            assert (body["resource_type"], body["resource_id"]) == ("export", "exp_nope")

    def test_another_projects_keys_see_nothing(self, api: httpx.Client, other_api: httpx.Client):
        create_customer(api, source_id="private", name="Private Person")
        done, _rows = export_rows(api, exported_object="customer")
        token = done["result"]["url"].split("token=")[1]

        assert_error(other_api.get(f"/v1/exports/{done['id']}"), 404, "not_found")
        assert_error(
            other_api.get(f"/v1/exports/{done['id']}", params={"token": token}), 404, "not_found"
        )
        assert_error(other_api.delete(f"/v1/exports/{done['id']}"), 404, "not_found")
        assert other_api.get("/v1/exports").json()["total"] == 0
        # the owner still has it, and its own keys may download it with the token too
        assert api.get(f"/v1/exports/{done['id']}").json()["status"] == "DONE"
        response = api.get(f"/v1/exports/{done['id']}", params={"token": token})
        assert response.status_code == 200
        assert "Private Person" in response.text

    def test_a_wrong_token_is_refused(self, api: httpx.Client, server: Server):
        create_customer(api, source_id="tok")
        done, _rows = export_rows(api, exported_object="customer")
        other, _rows = export_rows(api, exported_object="customer")
        url = done["result"]["url"]
        other_token = other["result"]["url"].split("token=")[1]

        assert_error(httpx.get(url.split("?")[0] + "?token=wrong"), 401, "unauthorized")
        assert_error(httpx.get(url.split("?")[0]), 401, "unauthorized")
        assert_error(httpx.get(url.split("?")[0] + "?token=" + other_token), 401, "unauthorized")
        assert_error(
            api.get(f"/v1/exports/{done['id']}", params={"token": "wrong"}), 401, "unauthorized"
        )
        # an unknown export, or the right export under another project id, is a 404
        path = url.split("/downloads/exports/")[1]
        project_id, _rest = path.split("/", 1)
        swapped = url.replace(project_id, "proj_other")
        assert_error(httpx.get(swapped), 404, "not_found")


class TestDelete:
    def test_delete_removes_the_export_and_its_file(
        self, api: httpx.Client, server: Server, project
    ):
        for i in range(10):
            create_customer(api, source_id=f"d{i}")
        done, _rows = export_rows(api, exported_object="customer")
        pieces = db_fetch(
            server.backend.url,
            "SELECT COUNT(*) AS n FROM export_piece WHERE project_id = $1 AND export_id = $2",
            project.id,
            done["id"],
        )
        assert pieces[0]["n"] >= 1

        response = api.delete(f"/v1/exports/{done['id']}")

        assert response.status_code == 204
        assert response.content == b""
        assert_error(api.get(f"/v1/exports/{done['id']}"), 404, "not_found")
        assert_error(httpx.get(done["result"]["url"]), 404, "not_found")
        assert_error(api.delete(f"/v1/exports/{done['id']}"), 404, "not_found")
        left = db_fetch(
            server.backend.url,
            "SELECT COUNT(*) AS n FROM export_piece WHERE project_id = $1 AND export_id = $2",
            project.id,
            done["id"],
        )
        assert left[0]["n"] == 0


def test_chunk_rows_is_small():
    assert CHUNK_ROWS < 10  # the tests above cross chunk boundaries


class TestPermanentDeletion:
    def test_exports_that_can_name_the_person_are_deleted(self, api: httpx.Client):
        person = create_customer(api, source_id="erase-me", name="Erase Me")
        create_voucher(api, code="KEEP-1")
        customers, _rows = export_rows(api, exported_object="customer")
        plain, _rows = export_rows(api, exported_object="voucher")
        holders, _rows = export_rows(
            api, exported_object="voucher", parameters={"fields": ["code", "customer_id"]}
        )

        response = api.post(f"/v1/customers/{person['id']}/permanent-deletion")
        assert response.status_code == 200, response.text

        assert_error(api.get(f"/v1/exports/{customers['id']}"), 404, "not_found")
        assert_error(httpx.get(customers["result"]["url"]), 404, "not_found")
        assert_error(api.get(f"/v1/exports/{holders['id']}"), 404, "not_found")
        assert api.get(f"/v1/exports/{plain['id']}").json()["status"] == "DONE"
        assert download(plain["result"]["url"])[1][0] == "KEEP-1"
