"""The three bulk endpoints and the async-actions API over HTTP."""

from __future__ import annotations

import re

import pytest

from tests.factories import create_customer, upload_csv, wait_done
from tests.helpers import assert_error

AA = re.compile(r"^aa_[0-9a-f]{18}$")


class TestEnqueue:
    def test_csv_import_is_202_then_done(self, api) -> None:
        response = upload_csv(
            api, "Source_id,Name,Email,City,vip\ncrm-1,Ada,ada@x.org,London,yes\n"
        )
        assert response.status_code == 202
        assert list(response.json()) == ["async_action_id"]
        action_id = response.json()["async_action_id"]
        assert AA.match(action_id)
        done = wait_done(api, action_id)
        assert done["type"] == "CUSTOMERS.IMPORT_CSV"
        assert done["status"] == "DONE"
        assert done["progress"] == 100
        assert done["object"] == "async_action"
        assert done["request_id"] == response.headers["x-request-id"]
        assert done["result"] == {
            "message": "1 customer(s) imported successfully, 0 failed.",
            "failed": [],
            "done_count": 1,
            "failed_count": 0,
            "created_count": 1,
        }
        customer = api.get("/v1/customers/crm-1").json()
        assert customer["email"] == "ada@x.org"
        assert customer["address"]["city"] == "London"
        assert customer["metadata"] == {"vip": "yes"}

    def test_bulk_update_upserts_by_source_id(self, api) -> None:
        create_customer(api, source_id="known", name="Old", email="keep@x.org")
        response = api.post(
            "/v1/customers/bulk/async",
            json=[
                {"source_id": "known", "name": "New", "metadata": {"a": 1}},
                {"source_id": "fresh", "name": "Fresh", "birthdate": "1912-06-23"},
            ],
        )
        assert response.status_code == 202
        done = wait_done(api, response.json()["async_action_id"])
        assert done["status"] == "DONE"
        assert done["operation_status"] == "SUCCESS"
        assert done["result"]["done_count"] == 2
        assert done["result"]["failed_count"] == 0
        assert done["result"]["errors"] == []
        known = api.get("/v1/customers/known").json()
        assert (known["name"], known["email"], known["metadata"]) == ("New", "keep@x.org", {"a": 1})
        assert api.get("/v1/customers/fresh").json()["birthdate"] == "1912-06-23"
        assert api.get("/v1/customers").json()["total"] == 2

    def test_metadata_update_merges_keys(self, api) -> None:
        create_customer(api, source_id="m1", metadata={"keep": 1, "over": "old"})
        response = api.post(
            "/v1/customers/metadata/async",
            json={"source_ids": ["m1", "m2"], "metadata": {"over": "new", "flag": True}},
        )
        assert response.status_code == 202
        done = wait_done(api, response.json()["async_action_id"])
        assert done["type"] == "CUSTOMERS.METADATA_UPDATE"
        assert done["result"]["done_count"] == 2
        assert api.get("/v1/customers/m1").json()["metadata"] == {
            "keep": 1,
            "over": "new",
            "flag": True,
        }
        assert api.get("/v1/customers/m2").json()["metadata"] == {"over": "new", "flag": True}

    def test_empty_source_id_fails_its_row_only(self, api) -> None:
        """ "" is a valid string on the wire (schemathesis sent it): the row fails, not the call."""
        response = api.post(
            "/v1/customers/bulk/async", json=[{"source_id": ""}, {"source_id": "ok", "name": "A"}]
        )
        assert response.status_code == 202, response.text
        done = wait_done(api, response.json()["async_action_id"])
        assert (done["result"]["done_count"], done["result"]["failed_count"]) == (1, 1)
        assert [(e["source_id"], e["details"]) for e in done["result"]["errors"]] == [
            ("", "source_id must NOT be empty")
        ]
        assert api.get("/v1/customers/ok").json()["name"] == "A"

    def test_empty_source_id_in_metadata_fails_its_entry_only(self, api) -> None:
        response = api.post(
            "/v1/customers/metadata/async", json={"source_ids": ["", "m"], "metadata": {"a": 1}}
        )
        assert response.status_code == 202, response.text
        done = wait_done(api, response.json()["async_action_id"])
        assert (done["result"]["done_count"], done["result"]["failed_count"]) == (1, 1)
        assert done["result"]["errors"][0]["source_id"] == ""
        assert api.get("/v1/customers").json()["total"] == 1


class TestWire:
    def test_pending_action_has_no_null_result_or_updated_at(self) -> None:
        """The spec types both as non-null; until they exist they are absent (schemathesis)."""
        import msgspec

        from patrons.async_actions.service import async_action_to_wire

        row = {
            "id": "aa_000000000000000001",
            "type": "CUSTOMERS.BULK_UPDATE",
            "status": "ENQUEUED",
            "operation_status": None,
            "result": None,
            "created_at": 1_700_000_000_000,
            "updated_at": None,
            "started_at": None,
            "finished_at": None,
            "request_id": "v-000000000000000001",
            "progress": 0,
        }
        wire = msgspec.json.decode(msgspec.json.encode(async_action_to_wire(row, with_result=True)))
        assert "result" not in wire
        assert "updated_at" not in wire
        assert wire["status"] == "ENQUEUED"


class TestRejectedBeforeAnyJob:
    def no_jobs(self, api) -> bool:
        return api.get("/v1/async-actions").json()["async_actions"] == []

    @pytest.mark.parametrize(
        "body",
        [
            [],
            {"source_id": "x"},
            [{"name": "no source id"}],
            [{"source_id": "x", "email": 5}],
            [{"source_id": "x", "birthdate": "yesterday"}],
        ],
    )
    def test_bad_bulk_bodies(self, api, body) -> None:
        assert_error(api.post("/v1/customers/bulk/async", json=body), 400, "invalid_payload")
        assert self.no_jobs(api)

    @pytest.mark.parametrize(
        "body",
        [
            {"metadata": {"a": 1}},
            {"source_ids": ["a"]},
            {"source_ids": [], "metadata": {"a": 1}},
            {"source_ids": "a", "metadata": {"a": 1}},
            {"source_ids": ["a"], "metadata": [1]},
        ],
    )
    def test_bad_metadata_bodies(self, api, body) -> None:
        assert_error(api.post("/v1/customers/metadata/async", json=body), 400, "invalid_payload")
        assert self.no_jobs(api)

    def test_import_without_file(self, api) -> None:
        response = api.post("/v1/customers/importCSV", files={"other": ("a.csv", b"x", "text/csv")})
        body = assert_error(response, 400, "invalid_payload")
        assert body["details"] == "Payload should have required property 'file'"
        assert_error(api.post("/v1/customers/importCSV", json={}), 400, "invalid_payload")
        assert self.no_jobs(api)

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "Source_id,Nąme\n".encode("utf-16"),
            b"Source_id,Favourite brand\nx,y\n",
            b"Source_id,,Name\nx,,y\n",
            b"Source_id,Name,name\nx,y,z\n",
            b"Source_id,City,Address_City\nx,y,z\n",
        ],
    )
    def test_import_of_what_is_not_a_usable_csv(self, api, content: bytes) -> None:
        assert_error(upload_csv(api, content), 400, "invalid_payload")
        assert self.no_jobs(api)

    def test_bulk_body_over_limit_is_413(self, api) -> None:
        item = b'{"source_id": "x", "description": "' + b"y" * 1000 + b'"}'
        big = b"[" + b",".join([item] * 11_000) + b"]"
        response = api.post(
            "/v1/customers/bulk/async", content=big, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["statusCode"] == 413
        assert self.no_jobs(api)


class TestRowFailures:
    def test_bad_rows_are_reported_and_good_rows_import(self, api) -> None:
        csv = (
            "Source_id,Name,Birthdate\n"
            "ok-1,Ada,1990-12-10\n"
            "bad-1,Bob,1990-02-31\n"
            "bad-2,Cy\n"
            "ok-2,Di,\n"
        )
        done = wait_done(api, upload_csv(api, csv).json()["async_action_id"])
        result = done["result"]
        assert result["done_count"] == 2
        assert result["failed_count"] == 2
        assert result["message"] == "2 customer(s) imported successfully, 2 failed."
        assert [(f["row"], f["source_id"]) for f in result["failed"]] == [
            (2, "bad-1"),
            (3, "bad-2"),
        ]
        assert "birthdate" in result["failed"][0]["reason"]
        assert "columns" in result["failed"][1]["reason"]
        assert api.get("/v1/customers").json()["total"] == 2
        assert api.get("/v1/customers/bad-1").status_code == 404


class TestAsyncActionsApi:
    def test_unknown_action_is_404(self, api) -> None:
        body = assert_error(api.get("/v1/async-actions/aa_000000000000000000"), 404, "not_found")
        assert body["resource_type"] == "async_action"

    def test_list_is_newest_first_with_has_more(self, api) -> None:
        ids = [
            api.post(
                "/v1/customers/metadata/async", json={"source_ids": [f"s{i}"], "metadata": {}}
            ).json()["async_action_id"]
            for i in range(3)
        ]
        body = api.get("/v1/async-actions", params={"limit": 2}).json()
        assert body["object"] == "list"
        assert body["data_ref"] == "async_actions"
        assert [a["id"] for a in body["async_actions"]] == ids[:0:-1]
        assert body["has_more"] is True
        assert all("result" not in a for a in body["async_actions"])
        everything = api.get("/v1/async-actions").json()
        assert [a["id"] for a in everything["async_actions"]] == ids[::-1]
        assert everything["has_more"] is False

    def test_end_date_filters(self, api) -> None:
        api.post("/v1/customers/metadata/async", json={"source_ids": ["x"], "metadata": {}})
        past = api.get("/v1/async-actions", params={"end_date": "2020-01-01"}).json()
        assert past["async_actions"] == []
        future = api.get("/v1/async-actions", params={"end_date": "2200-01-01T00:00:00Z"}).json()
        assert len(future["async_actions"]) == 1

    @pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"end_date": "soon"}])
    def test_bad_list_params(self, api, params) -> None:
        assert_error(api.get("/v1/async-actions", params=params), 400, "invalid_query_params")

    def test_other_projects_cannot_see_actions(self, api, other_api) -> None:
        action_id = upload_csv(api, "Source_id\nx\n").json()["async_action_id"]
        assert other_api.get(f"/v1/async-actions/{action_id}").status_code == 404
        assert other_api.get("/v1/async-actions").json()["async_actions"] == []
        wait_done(api, action_id)
        assert other_api.get("/v1/customers").json()["total"] == 0

    def test_bulk_writes_land_in_the_callers_project_only(self, api, other_api) -> None:
        create_customer(other_api, source_id="same", name="Theirs")
        action_id = api.post(
            "/v1/customers/bulk/async", json=[{"source_id": "same", "name": "Mine"}]
        ).json()["async_action_id"]
        wait_done(api, action_id)
        assert other_api.get("/v1/customers/same").json()["name"] == "Theirs"
        assert api.get("/v1/customers/same").json()["name"] == "Mine"
