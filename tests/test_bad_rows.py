"""Bad rows are rows: the field limits (core/limits.py) are the same on both databases, a single
write breaking one is a 400, and in a job it fails that row only — named by row number and its
whole source_id — while the rest is written. Also: after a bulk import, `starting_after` pages
hold at most `limit` customers and a scroll reaches every customer once."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from patrons.core import limits
from tests.factories import create_customer, upload_csv, wait_done
from tests.helpers import assert_error

YEAR_2200 = "2200-01-01T00:00:00Z"
EPOCH = "1970-01-01T00:00:00Z"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


class TestSingleWrites:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"source_id": "s" * 3000}, "source_id"),
            ({"name": "n" * 10_000}, "name"),
            ({"email": "e" * 600 + "@x.org"}, "email"),
            ({"address": {"city": "c" * 3000}}, "address.city"),
            ({"description": "d" * (limits.DESCRIPTION_MAX + 1)}, "description"),
            ({"metadata": {"k": "v" * (limits.METADATA_MAX_BYTES + 1)}}, "metadata"),
            ({"metadata": {"k" * (limits.METADATA_KEY_MAX + 1): 1}}, "metadata"),
        ],
    )
    def test_create_over_a_limit_is_400_and_writes_nothing(
        self, api, body: dict[str, Any], field: str
    ) -> None:
        response = api.post("/v1/customers", json={"source_id": "limit-1", **body})
        error = assert_error(response, 400, "invalid_payload")
        assert error["details"].startswith(f"Property .{field} ")
        assert "must NOT" in error["details"]
        assert api.get("/v1/customers").json()["total"] == 0

    def test_metadata_nested_too_deep_is_400(self, api) -> None:
        deep: dict[str, Any] = {"leaf": 1}
        for _ in range(limits.METADATA_MAX_DEPTH):
            deep = {"k": deep}
        error = assert_error(
            api.post("/v1/customers", json={"metadata": deep}), 400, "invalid_payload"
        )
        assert "nested" in error["details"]

    def test_update_over_a_limit_is_400_and_keeps_the_customer(self, api) -> None:
        create_customer(api, source_id="keep", name="Ada")
        response = api.put("/v1/customers/keep", json={"name": "n" * 10_000})
        assert_error(response, 400, "invalid_payload")
        assert api.get("/v1/customers/keep").json()["name"] == "Ada"

    def test_values_at_the_limits_are_stored_on_both_databases(self, api) -> None:
        wide = "\U0001f600"  # four bytes in UTF-8: the worst case for PostgreSQL's btree
        body = {
            "source_id": wide * limits.SOURCE_ID_MAX,
            "name": wide * limits.TEXT_MAX,
            "email": wide * limits.TEXT_MAX,
            "address": {"city": wide * limits.TEXT_MAX},
            "description": wide * limits.DESCRIPTION_MAX,
        }
        made = create_customer(api, **body)
        assert (made["source_id"], made["name"]) == (body["source_id"], body["name"])
        assert made["address"]["city"] == body["address"]["city"]


class TestPoisonCsv:
    def test_exactly_the_bad_rows_fail_and_the_rest_is_written(self, api) -> None:
        long_source = "S" * 3000
        rows = [["Source_id", "Name", "note"]]
        for i in range(1, 31):
            rows.append([f"good-{i}", f"Good {i}", "fine"])
        rows[5] = ["huge-cell", "Huge", "x" * (130 * 1024)]  # over csv's 128 KiB field limit
        rows[12] = [long_source, "Long source", "fine"]
        rows[20] = ["long-name", "N" * 10_000, "fine"]
        response = upload_csv(api, _csv(rows))
        assert response.status_code == 202
        done = wait_done(api, response.json()["async_action_id"])
        assert done["status"] == "DONE"
        result = done["result"]
        assert (result["done_count"], result["failed_count"]) == (27, 3)
        failed = {f["row"]: f for f in result["failed"]}
        assert sorted(failed) == [5, 12, 20]
        assert failed[5]["source_id"] == "huge-cell"
        assert "cell must NOT have more than" in failed[5]["reason"]
        assert failed[12]["source_id"] == long_source  # whole, exactly as sent
        assert failed[12]["reason"].startswith("source_id: must NOT have more than 512")
        assert failed[20]["source_id"] == "long-name"
        assert failed[20]["reason"].startswith("name: must NOT have more than 512")
        assert api.get("/v1/customers").json()["total"] == 27
        assert api.get("/v1/customers/good-30").json()["name"] == "Good 30"
        assert api.get("/v1/customers/long-name").status_code == 404

    def test_a_duplicate_column_deep_in_a_long_header_is_refused_at_upload(self, api) -> None:
        header = ["Source_id", *(f"m{i:05d}" for i in range(900)), "Name", "m00001"]
        header[1] = "x" * 70_000  # the duplicate lies beyond the first 64 KiB
        response = upload_csv(api, _csv([header, ["a"] * len(header)]))
        error = assert_error(response, 400, "invalid_payload")
        assert "appears more than once" in error["details"]
        assert api.get("/v1/async-actions").json()["async_actions"] == []


class TestBulkRows:
    def test_a_bulk_row_over_a_limit_fails_alone_naming_its_whole_source_id(self, api) -> None:
        long_source = "b" * 3000
        items = [
            {"source_id": "ok-1", "name": "One"},
            {"source_id": long_source, "name": "Too long"},
            {"source_id": "ok-2", "address": {"city": "c" * 3000}},
            {"source_id": "ok-3", "name": "Three"},
        ]
        response = api.post("/v1/customers/bulk/async", json=items)
        done = wait_done(api, response.json()["async_action_id"])
        result = done["result"]
        assert (result["done_count"], result["failed_count"]) == (2, 2)
        assert [e["source_id"] for e in result["errors"]] == [long_source, "ok-2"]
        assert "address.city" in result["errors"][1]["details"]
        assert api.get("/v1/customers").json()["total"] == 2

    def test_metadata_job_with_a_too_long_source_id(self, api) -> None:
        body = {"source_ids": ["m-1", "m" * 3000], "metadata": {"a": 1}}
        done = wait_done(
            api, api.post("/v1/customers/metadata/async", json=body).json()["async_action_id"]
        )
        assert (done["result"]["done_count"], done["result"]["failed_count"]) == (1, 1)
        assert done["result"]["errors"][0]["source_id"] == "m" * 3000

    def test_metadata_over_the_limits_is_refused_at_upload(self, api) -> None:
        body = {"source_ids": ["m-1"], "metadata": {"k": "v" * (limits.METADATA_MAX_BYTES + 1)}}
        assert_error(api.post("/v1/customers/metadata/async", json=body), 400, "invalid_payload")
        assert api.get("/v1/async-actions").json()["async_actions"] == []


def _scroll(api, *, order: str, limit: int) -> tuple[list[str], int]:
    """The JS SDK's scroll(): from the far end, continue from the last created_at seen."""
    ascending = order == "created_at"
    cursor = EPOCH if ascending else YEAR_2200
    seen: list[str] = []
    largest = 0
    for _ in range(1000):
        body = api.get(
            "/v1/customers", params={"limit": limit, "order": order, "starting_after": cursor}
        ).json()
        page = body["customers"]
        largest = max(largest, len(page))
        seen += [c["source_id"] for c in page]
        if not body["has_more"]:
            return seen, largest
        stamps = [c["created_at"] for c in page]
        cursor = max(stamps) if ascending else min(stamps)
    raise AssertionError("scroll did not finish")


class TestPagesAfterABulkImport:
    @pytest.mark.parametrize("order", ["-created_at", "created_at"])
    def test_pages_hold_at_most_limit_and_scroll_reaches_everyone_once(
        self, api, order: str
    ) -> None:
        rows = [["Source_id", "Name"]] + [[f"p-{i:04d}", f"P {i}"] for i in range(450)]
        done = wait_done(api, upload_csv(api, _csv(rows)).json()["async_action_id"])
        assert done["result"]["done_count"] == 450
        # A single create right after the import (it may share a millisecond with an imported
        # row stamped ahead of the clock: a group of two, which a page of 2 or more cuts back).
        create_customer(api, source_id="single")
        for limit in (100, 7, 2):
            seen, largest = _scroll(api, order=order, limit=limit)
            assert largest <= limit
            assert len(seen) == len(set(seen)) == 451
        ascending = api.get("/v1/customers", params={"limit": 100, "order": "created_at"}).json()[
            "customers"
        ]
        # Rows keep the file's order in time, each its own millisecond.
        assert [c["source_id"] for c in ascending[:3]] == ["p-0000", "p-0001", "p-0002"]
        stamps = [c["created_at"] for c in ascending if c["source_id"] != "single"]
        assert len(set(stamps)) == len(stamps)


class TestReports:
    def test_every_failed_row_is_in_the_report_file(self, api, anon) -> None:
        rows = [["Source_id", "Birthdate"]]
        rows += [[f"bad-{i:04d}", "1990-02-31"] for i in range(1, 1201)]
        rows += [["good", "1990-01-01"]]
        done = wait_done(api, upload_csv(api, _csv(rows)).json()["async_action_id"])
        result = done["result"]
        assert (result["done_count"], result["failed_count"]) == (1, 1200)
        assert len(result["failed"]) == 1000  # the result lists the first 1,000 …
        [url] = result["reports"]  # … the report has them all
        assert url.startswith(str(api.base_url).rstrip("/") + "/reports/async-actions/")
        assert "token=" in url
        response = anon.get(url)  # no API keys: the token is the key
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        report = list(csv.reader(io.StringIO(response.text)))
        assert report[0] == ["row", "source_id", "reason"]
        assert [r[1] for r in report[1:]] == [f"bad-{i:04d}" for i in range(1, 1201)]
        assert report[1][0] == "1"
        assert "birthdate" in report[1][2]

    def test_a_wrong_token_gets_nothing(self, api, anon) -> None:
        items = [{"source_id": "", "name": "x"}, {"source_id": "ok", "name": "y"}]
        done = wait_done(
            api, api.post("/v1/customers/bulk/async", json=items).json()["async_action_id"]
        )
        [url] = done["result"]["reports"]
        assert anon.get(url).status_code == 200
        base, _, token = url.partition("token=")
        assert anon.get(base + "token=" + token[:-2] + "xx").status_code == 404
        assert anon.get(base.rstrip("?")).status_code == 404

    def test_a_bulk_result_without_failures_still_links_its_report(self, api, anon) -> None:
        done = wait_done(
            api,
            api.post("/v1/customers/bulk/async", json=[{"source_id": "r-1"}]).json()[
                "async_action_id"
            ],
        )
        [url] = done["result"]["reports"]
        assert anon.get(url).text == "row,source_id,reason\n"


class TestStreamedBodies:
    """Bulk and metadata bodies are read as a stream (http/json_stream.py): the same 400s."""

    @pytest.mark.parametrize(
        ("path", "body", "details"),
        [
            ("bulk", b'[{"source_id": "\xff"}]', "UTF-8"),
            ("bulk", b'[{"source_id": "a"}, {"source_id": "b", "email": 5}]', "[1].email"),
            ("bulk", b'[{"source_id": "a"},]', "malformed"),
            ("bulk", b'{"source_id": "a"}', "Expected `array`"),
            ("bulk", b"[" * 40 + b"]" * 40, "nested"),
            ("metadata", b'{"source_ids": ["\xff"], "metadata": {}}', "UTF-8"),
            ("metadata", b'{"source_ids": ["a", 5], "metadata": {}}', ".source_ids[1]"),
            ("metadata", b'{"source_ids": "a", "metadata": {}}', "Expected array"),
            ("metadata", b'{"metadata": {"a": 1}, "source_ids": []}', "fewer than 1"),
        ],
    )
    def test_malformed_bodies_are_400_and_make_no_job(
        self, api, path: str, body: bytes, details: str
    ) -> None:
        response = api.post(
            f"/v1/customers/{path}/async",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        error = assert_error(response, 400, "invalid_payload")
        assert details in error["details"]
        assert api.get("/v1/async-actions").json()["async_actions"] == []

    def test_metadata_may_come_after_the_source_ids(self, api) -> None:
        body = b'{"source_ids": ["late-1", "late-2"], "metadata": {"k": "v"}}'
        response = api.post(
            "/v1/customers/metadata/async",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        done = wait_done(api, response.json()["async_action_id"])
        assert done["result"]["done_count"] == 2
        assert api.get("/v1/customers/late-2").json()["metadata"] == {"k": "v"}
