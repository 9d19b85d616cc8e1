"""The bulk customer endpoints and async actions through the official Python SDK (voucherify 6.1.1).

`CustomersApi.import_customers_using_csv` / `update_customers_in_bulk` /
`update_customers_metadata_in_bulk` schedule jobs that the server's embedded worker runs;
`AsyncActionsApi.get_async_action` is polled until the job is DONE. Every response is parsed by
the SDK's strict pydantic models (the status / operation_status / object enums, `progress` in
0..100, StrictInt `processing_time`), and the customers are read back through the SDK.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import voucherify
from voucherify import (
    AsyncActionBase,
    AsyncActionGetResponseBody,
    AsyncActionsListResponseBody,
    CustomersCreateRequestBody,
    CustomersCreateRequestBodyAddress,
    CustomersImportCsvCreateResponseBody,
    CustomersMetadataUpdateInBulkRequestBody,
    CustomersMetadataUpdateInBulkResponseBody,
    CustomersUpdateInBulkRequestBody,
    CustomersUpdateInBulkRequestBodyAddress,
    CustomersUpdateInBulkResponseBody,
)
from voucherify.exceptions import NotFoundException

from tests.sdk.conftest import Sdk

pytestmark = pytest.mark.sdk

AA = re.compile(r"aa_[0-9a-f]{18}")
IMPORT_CSV = "CUSTOMERS.IMPORT_CSV"
BULK_UPDATE = "CUSTOMERS.BULK_UPDATE"
METADATA_UPDATE = "CUSTOMERS.METADATA_UPDATE"


@dataclass
class Bulk:
    """The two SDK APIs a bulk job needs, sharing one ApiClient (and its request log)."""

    sdk: Sdk
    actions: voucherify.AsyncActionsApi

    @property
    def customers(self) -> voucherify.CustomersApi:
        return self.sdk.customers


@pytest.fixture
def bulk(sdk: Sdk) -> Bulk:
    return Bulk(sdk, voucherify.AsyncActionsApi(sdk.customers.api_client))


@pytest.fixture
def other_bulk(other_sdk: Sdk) -> Bulk:
    return Bulk(other_sdk, voucherify.AsyncActionsApi(other_sdk.customers.api_client))


def wait_done(bulk: Bulk, action_id: str, timeout: float = 20.0) -> AsyncActionGetResponseBody:
    """Poll through the SDK (every poll is a strict parse) until the action is DONE."""
    deadline = time.monotonic() + timeout
    while True:
        action = bulk.actions.get_async_action(action_id)
        assert isinstance(action, AsyncActionGetResponseBody)
        assert action.id == action_id
        assert action.object == "async_action"
        if action.status == "DONE":
            return action
        assert action.status in ("ENQUEUED", "IN_PROGRESS"), action
        assert action.result is None, action  # no result before the job finishes
        assert 0 <= action.progress < 100
        if time.monotonic() > deadline:
            raise AssertionError(f"async action still {action.status} after {timeout}s: {action}")
        time.sleep(0.1)


def assert_finished(action: AsyncActionGetResponseBody, type_: str, request_id: str) -> None:
    """The typed fields every finished action carries."""
    assert AA.fullmatch(action.id)
    assert action.type == type_
    assert action.status == "DONE"
    assert action.progress == 100
    assert action.object == "async_action"
    assert action.request_id == request_id
    assert isinstance(action.created_at, datetime)
    assert action.created_at.utcoffset() == timedelta(0)
    now = datetime.now(UTC)
    assert now - timedelta(minutes=1) < action.created_at <= now + timedelta(seconds=5)
    assert isinstance(action.updated_at, datetime)
    assert action.updated_at >= action.created_at
    assert isinstance(action.processing_time, int)
    assert action.processing_time >= 0
    assert isinstance(action.result, dict)
    if type_ == IMPORT_CSV:
        assert action.operation_status is None  # only bulk and metadata updates carry it
    else:
        assert action.operation_status == "SUCCESS"


def assert_bulk_result(result: dict, done: int) -> None:
    """CUSTOMERS.BULK_UPDATE / METADATA_UPDATE result: the full bulk shape (WIRE-FORMAT §3.7)."""
    assert result["done_count"] == done
    assert result["failed_count"] == 0
    assert result["errors"] == []
    assert isinstance(result["reports"], list)
    till = datetime.fromisoformat(result["reports_available_till"].replace("Z", "+00:00"))
    assert till > datetime.now(UTC)


def import_csv(bulk: Bulk, file: bytes | str) -> tuple[str, str]:
    """Upload through the SDK; returns (async_action_id, the 202's request id)."""
    response = bulk.customers.import_customers_using_csv_with_http_info(file)
    assert response.status_code == 202
    created = response.data
    assert isinstance(created, CustomersImportCsvCreateResponseBody)
    assert AA.fullmatch(created.async_action_id)
    assert json.loads(response.raw_data) == {"async_action_id": created.async_action_id}
    sent = bulk.sdk.last
    assert sent.method == "POST"
    assert sent.url.endswith("/v1/customers/importCSV")
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    return created.async_action_id, response.headers["x-request-id"]


def tick() -> None:
    """Let the server clock move on by at least two milliseconds (1 ms wire resolution)."""
    time.sleep(0.003)


# --------------------------------------------------------------------------------------------
# POST /v1/customers/importCSV


class TestImportCsv:
    def test_file_path_upload_creates_customers(self, bulk: Bulk, tmp_path: Path) -> None:
        path = tmp_path / "customers.csv"
        path.write_bytes(
            b"Source_id,Name,Email,Phone,Birthdate,Description,Address_line_1,Address_line_2,"
            b"Address_Postal_Code,Address_City,Address_State,Address_Country,vip,tier\r\n"
            b"crm-1,Ada Lovelace,ada@example.org,+44 20 7946 0000,1990-12-10,First,"
            b"12 Byron St,Flat 2,N1 1AA,London,Greater London,GB,true,gold\r\n"
            b'crm-2,"Turing, Alan",,,,"says ""hi""",,,,,,,,silver\r\n'
        )
        action_id, request_id = import_csv(bulk, str(path))
        action = wait_done(bulk, action_id)
        assert_finished(action, IMPORT_CSV, request_id)
        assert action.result["message"] == "2 customer(s) imported successfully, 0 failed."
        assert action.result["failed"] == []
        assert action.result["done_count"] == 2
        assert action.result["failed_count"] == 0

        ada = bulk.customers.get_customer("crm-1")
        assert isinstance(ada, voucherify.CustomersGetResponseBody)
        assert ada.object == "customer"
        assert ada.source_id == "crm-1"
        assert (ada.name, ada.email, ada.phone) == (
            "Ada Lovelace",
            "ada@example.org",
            "+44 20 7946 0000",
        )
        assert type(ada.birthdate) is date
        assert ada.birthdate == date(1990, 12, 10)
        assert ada.birthday is None
        assert ada.description == "First"
        address = ada.address
        assert (address.line_1, address.line_2, address.postal_code) == (
            "12 Byron St",
            "Flat 2",
            "N1 1AA",
        )
        assert (address.city, address.state, address.country) == ("London", "Greater London", "GB")
        # No metadata schema: every extra column is a string metadata value.
        assert ada.metadata == {"vip": "true", "tier": "gold"}

        alan = bulk.customers.get_customer("crm-2")
        assert alan.name == "Turing, Alan"
        assert alan.description == 'says "hi"'
        assert (alan.email, alan.phone, alan.birthdate) == (None, None, None)
        assert alan.address is None  # every address cell empty
        assert alan.metadata == {"tier": "silver"}  # the empty `vip` cell is absent
        assert bulk.customers.list_customers().total == 2

    def test_bytes_upload_reports_failed_rows(self, bulk: Bulk) -> None:
        action_id, request_id = import_csv(
            bulk,
            b"Source_id,Name,Birthdate,note\n"
            b"ok-1,Ada,1990-12-10,a\n"
            b"bad-date,Bob,1990-02-31,b\n"
            b"short-row,Cy\n"
            b"ok-2,Di,,\n"
            b"bad-format,Ed,10/12/1990,e\n",
        )
        action = wait_done(bulk, action_id)
        assert_finished(action, IMPORT_CSV, request_id)
        result = action.result
        assert result["message"] == "2 customer(s) imported successfully, 3 failed."
        assert result["done_count"] == 2
        assert result["failed_count"] == 3
        failed = result["failed"]
        assert [(f["row"], f["source_id"]) for f in failed] == [
            (2, "bad-date"),
            (3, "short-row"),
            (5, "bad-format"),
        ]
        for f in failed:
            assert set(f) == {"source_id", "row", "reason"}
            assert isinstance(f["row"], int)
            assert isinstance(f["reason"], str)
            assert f["reason"]
        assert "birthdate" in failed[0]["reason"].lower()
        assert "column" in failed[1]["reason"].lower()
        assert "birthdate" in failed[2]["reason"].lower()

        assert bulk.customers.get_customer("ok-1").metadata == {"note": "a"}
        di = bulk.customers.get_customer("ok-2")
        assert (di.name, di.birthdate, di.metadata) == ("Di", None, None)
        for source_id in ("bad-date", "short-row", "bad-format"):
            with pytest.raises(NotFoundException):
                bulk.customers.get_customer(source_id)
        assert bulk.customers.list_customers().total == 2

    def test_reimport_fully_overwrites_an_existing_customer(self, bulk: Bulk) -> None:
        before = bulk.customers.create_customer(
            CustomersCreateRequestBody(
                source_id="crm-1",
                name="Ada",
                email="ada@example.org",
                phone="+44 1",
                description="old",
                birthdate=date(1990, 12, 10),
                birthday=date(1990, 12, 11),
                address=CustomersCreateRequestBodyAddress(
                    city="London", line_1="12 Byron St", country="GB"
                ),
                metadata={"tier": "gold", "score": 3, "nested": {"x": 1}},
            )
        )
        other = bulk.customers.create_customer(
            CustomersCreateRequestBody(
                source_id="crm-2",
                name="Bob",
                address=CustomersCreateRequestBodyAddress(city="Paris"),
                metadata={"tier": "silver"},
            )
        )
        tick()
        action_id, request_id = import_csv(
            bulk,
            b"source_id,NAME,city,Country,vip\ncrm-1,Ada L.,Bath,,yes\ncrm-2,Bob,,,\n",
        )
        action = wait_done(bulk, action_id)
        assert_finished(action, IMPORT_CSV, request_id)
        assert action.result["done_count"] == 2
        assert action.result["failed_count"] == 0

        after = bulk.customers.get_customer("crm-1")
        assert after.id == before.id
        assert after.created_at == before.created_at
        assert isinstance(after.updated_at, datetime)
        assert after.updated_at > before.created_at
        assert after.name == "Ada L."
        # Columns the file does not have are cleared too: the row is the whole customer.
        assert (after.email, after.phone, after.description) == (None, None, None)
        assert (after.birthdate, after.birthday) == (None, None)
        assert after.address.city == "Bath"
        assert (after.address.line_1, after.address.country) == (None, None)
        assert after.metadata == {"vip": "yes"}

        bob = bulk.customers.get_customer("crm-2")
        assert bob.id == other.id
        assert bob.name == "Bob"
        assert bob.address is None
        assert bob.metadata is None
        assert bulk.customers.list_customers().total == 2


# --------------------------------------------------------------------------------------------
# POST /v1/customers/bulk/async


class TestUpdateInBulk:
    def test_updates_known_and_upserts_unknown_source_ids(self, bulk: Bulk) -> None:
        known = bulk.customers.create_customer(
            CustomersCreateRequestBody(
                source_id="known",
                name="Old",
                email="keep@example.org",
                phone="+1 555",
                address=CustomersCreateRequestBodyAddress(city="London", line_1="12 Byron St"),
                metadata={"a": 1},
            )
        )
        tick()
        response = bulk.customers.update_customers_in_bulk_with_http_info(
            [
                CustomersUpdateInBulkRequestBody(
                    source_id="known",
                    name="New",
                    phone=None,
                    address=CustomersUpdateInBulkRequestBodyAddress(city="Bath"),
                    metadata={"b": 2},
                ),
                CustomersUpdateInBulkRequestBody(
                    source_id="fresh",
                    name="Alan Turing",
                    birthdate=date(1912, 6, 23),
                    metadata={"n": 1.5, "tags": ["x"], "ok": True},
                ),
            ]
        )
        assert bulk.sdk.last.body == [
            {
                "source_id": "known",
                "name": "New",
                "phone": None,
                "address": {"city": "Bath"},
                "metadata": {"b": 2},
            },
            {
                "source_id": "fresh",
                "name": "Alan Turing",
                "birthdate": "1912-06-23",
                "metadata": {"n": 1.5, "tags": ["x"], "ok": True},
            },
        ]
        assert bulk.sdk.last.url.endswith("/v1/customers/bulk/async")
        assert response.status_code == 202
        created = response.data
        assert isinstance(created, CustomersUpdateInBulkResponseBody)
        assert AA.fullmatch(created.async_action_id)

        action = wait_done(bulk, created.async_action_id)
        assert_finished(action, BULK_UPDATE, response.headers["x-request-id"])
        assert_bulk_result(action.result, done=2)

        got = bulk.customers.get_customer("known")
        assert got.id == known.id
        assert got.name == "New"
        assert got.email == "keep@example.org"  # absent → unchanged
        assert got.phone is None  # explicit null → cleared
        assert got.address.city == "Bath"
        assert got.address.line_1 == "12 Byron St"  # address merges key by key, as in PUT
        assert got.metadata == {"b": 2}  # metadata replaces, as in PUT
        assert got.updated_at > known.created_at

        fresh = bulk.customers.get_customer("fresh")
        assert fresh.name == "Alan Turing"
        assert fresh.birthdate == date(1912, 6, 23)
        assert fresh.metadata == {"n": 1.5, "tags": ["x"], "ok": True}
        assert fresh.email is None
        assert fresh.address is None
        assert bulk.customers.list_customers().total == 2


# --------------------------------------------------------------------------------------------
# POST /v1/customers/metadata/async


class TestMetadataInBulk:
    def test_merges_metadata_and_upserts_unknown_source_ids(self, bulk: Bulk) -> None:
        bulk.customers.create_customer(
            CustomersCreateRequestBody(
                source_id="m1", name="Keep Me", metadata={"keep": 1, "over": "old"}
            )
        )
        response = bulk.customers.update_customers_metadata_in_bulk_with_http_info(
            CustomersMetadataUpdateInBulkRequestBody(
                source_ids=["m1", "m2"],
                metadata={"over": "new", "flag": True, "nested": {"x": [1, 2]}},
            )
        )
        assert bulk.sdk.last.url.endswith("/v1/customers/metadata/async")
        assert bulk.sdk.last.body == {
            "source_ids": ["m1", "m2"],
            "metadata": {"over": "new", "flag": True, "nested": {"x": [1, 2]}},
        }
        assert response.status_code == 202
        created = response.data
        assert isinstance(created, CustomersMetadataUpdateInBulkResponseBody)
        assert AA.fullmatch(created.async_action_id)

        action = wait_done(bulk, created.async_action_id)
        assert_finished(action, METADATA_UPDATE, response.headers["x-request-id"])
        assert_bulk_result(action.result, done=2)

        m1 = bulk.customers.get_customer("m1")
        assert m1.name == "Keep Me"  # only metadata is touched
        assert m1.metadata == {"keep": 1, "over": "new", "flag": True, "nested": {"x": [1, 2]}}
        m2 = bulk.customers.get_customer("m2")
        assert m2.source_id == "m2"
        assert m2.name is None
        assert m2.metadata == {"over": "new", "flag": True, "nested": {"x": [1, 2]}}
        assert bulk.customers.list_customers().total == 2


# --------------------------------------------------------------------------------------------
# GET /v1/async-actions


class TestAsyncActions:
    def enqueue_three(self, bulk: Bulk) -> list[str]:
        """A CSV import, a bulk update and a metadata update, oldest first, all finished."""
        ids = [import_csv(bulk, b"Source_id,Name\nc1,Ada\n")[0]]
        tick()
        ids.append(
            bulk.customers.update_customers_in_bulk(
                [CustomersUpdateInBulkRequestBody(source_id="c2", name="Bob")]
            ).async_action_id
        )
        tick()
        ids.append(
            bulk.customers.update_customers_metadata_in_bulk(
                CustomersMetadataUpdateInBulkRequestBody(source_ids=["c3"], metadata={"a": 1})
            ).async_action_id
        )
        for action_id in ids:
            wait_done(bulk, action_id)
        return ids

    def test_list_parses_newest_first(self, bulk: Bulk) -> None:
        ids = self.enqueue_three(bulk)
        listed = bulk.actions.list_async_actions()
        assert isinstance(listed, AsyncActionsListResponseBody)
        assert listed.object == "list"
        assert listed.data_ref == "async_actions"
        assert listed.has_more is False
        assert [a.id for a in listed.async_actions] == ids[::-1]
        assert [a.type for a in listed.async_actions] == [METADATA_UPDATE, BULK_UPDATE, IMPORT_CSV]
        for action in listed.async_actions:
            assert isinstance(action, AsyncActionBase)
            assert action.object == "async_action"
            assert action.status == "DONE"
            assert action.progress == 100
            assert isinstance(action.processing_time, int)
            assert isinstance(action.created_at, datetime)
        assert [a.operation_status for a in listed.async_actions] == ["SUCCESS", "SUCCESS", None]
        created = [a.created_at for a in listed.async_actions]
        assert created == sorted(created, reverse=True)

    def test_limit_and_end_date(self, bulk: Bulk) -> None:
        ids = self.enqueue_three(bulk)
        page = bulk.actions.list_async_actions(limit=2)
        assert "limit=2" in bulk.sdk.last.url
        assert [a.id for a in page.async_actions] == [ids[2], ids[1]]
        assert page.has_more is True

        full = {a.id: a for a in bulk.actions.list_async_actions(limit=100).async_actions}
        assert set(full) == set(ids)
        # end_date: only actions scheduled strictly before it. The SDK sends
        # `strftime("%Y-%m-%dT%H:%M:%S.%f%z")`, e.g. 2026-08-01T10:00:00.123000+0000.
        newest = full[ids[2]].created_at
        older = bulk.actions.list_async_actions(end_date=newest)
        assert "end_date=" in bulk.sdk.last.url
        assert [a.id for a in older.async_actions] == [ids[1], ids[0]]
        assert older.has_more is False
        oldest_only = bulk.actions.list_async_actions(
            limit=5, end_date=full[ids[0]].created_at + timedelta(milliseconds=1)
        )
        assert [a.id for a in oldest_only.async_actions] == [ids[0]]
        everything = bulk.actions.list_async_actions(end_date=datetime(2200, 1, 1, tzinfo=UTC))
        assert [a.id for a in everything.async_actions] == ids[::-1]
        nothing = bulk.actions.list_async_actions(end_date=datetime(2020, 1, 1, tzinfo=UTC))
        assert nothing.async_actions == []
        assert nothing.has_more is False

    def test_other_project_cannot_see_the_action(self, bulk: Bulk, other_bulk: Bulk) -> None:
        action_id, _ = import_csv(bulk, b"Source_id,Name\nmine,Ada\n")
        with pytest.raises(NotFoundException) as info:
            other_bulk.actions.get_async_action(action_id)
        assert info.value.status == 404
        body = json.loads(info.value.body)
        assert (body["code"], body["key"]) == (404, "not_found")
        assert body["resource_type"] == "async_action"
        assert body["resource_id"] == action_id
        assert other_bulk.actions.list_async_actions().async_actions == []

        wait_done(bulk, action_id)
        with pytest.raises(NotFoundException):
            other_bulk.actions.get_async_action(action_id)  # still hidden once finished
        assert other_bulk.actions.list_async_actions().async_actions == []
        assert other_bulk.customers.list_customers().total == 0
        assert [a.id for a in bulk.actions.list_async_actions().async_actions] == [action_id]
        assert bulk.customers.get_customer("mine").name == "Ada"
