"""POST /v1/customers/{id}/permanent-deletion: the response, 404s, and that nothing of the
person is left in any table afterwards (both databases)."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from typing import Any

import asyncpg
import httpx
import pytest

from patrons.db import dialect
from patrons.db.tables import metadata
from tests.conftest import Backend, Project, Server, new_project
from tests.factories import create_customer, upload_csv, wait_done

COUNTERS = ("events", "customer_events", "daily_events", "segments", "orders", "order_events")


def _erase(api: httpx.Client, ref: str, **kwargs: Any) -> httpx.Response:
    return api.post(f"/v1/customers/{ref}/permanent-deletion", **kwargs)


def _rows_mentioning(backend: Backend, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value, cast to text, that contains a needle."""

    def text(value: Any) -> str:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("utf-8", errors="replace")
        return str(value)

    found: list[tuple[str, str, str]] = []

    def scan(table: str, columns: list[str], rows: list[Any]) -> None:
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                for needle in needles:
                    if needle in text(value):
                        found.append((table, column, needle))

    if backend.name == "sqlite":
        raw = sqlite3.connect(dialect.sqlite_path(backend.url))
        try:
            for table in metadata.sorted_tables:
                cursor = raw.execute(f"SELECT * FROM {table.name}")
                scan(table.name, [d[0] for d in cursor.description], cursor.fetchall())
        finally:
            raw.close()
        return found

    async def pg() -> None:
        conn = await asyncpg.connect(dialect.asyncpg_dsn(backend.url))
        try:
            for table in metadata.sorted_tables:
                columns = [c.name for c in table.columns]
                rows = await conn.fetch(f"SELECT * FROM {table.name}")
                scan(table.name, columns, [tuple(r) for r in rows])
        finally:
            await conn.close()

    asyncio.run(pg())
    return found


class TestResponse:
    def test_erases_by_encoded_source_id_and_answers_the_spec_object(
        self, api: httpx.Client
    ) -> None:
        customer = create_customer(api, source_id="erase me/1@x.com", name="E")
        api.put(f"/v1/customers/{customer['id']}", json={"name": "E2"})
        response = _erase(api, "erase%20me%2F1%40x.com")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"].startswith("del_")
        assert len(body["id"]) == 28
        assert body["created_at"].endswith("Z")
        assert body["related_object_id"] == customer["id"]
        assert body["related_object"] == "customer"
        assert body["status"] == "DONE"
        assert body["object"] == "pernament_deletion"
        data = body["data_json"]
        assert all(isinstance(data[key], int) for key in COUNTERS)
        assert data["customer"] == 1
        assert data["customer_events"] == 2
        assert api.get(f"/v1/customers/{customer['id']}").status_code == 404
        assert api.get("/v1/customers", params={"limit": 1}).json()["total"] == 0

    @pytest.mark.parametrize(
        "kwargs",
        [{}, {"content": b""}, {"json": {}}],
        ids=["no-body", "empty-body", "empty-object"],
    )
    def test_accepts_every_body_the_sdks_send(
        self, api: httpx.Client, kwargs: dict[str, Any]
    ) -> None:
        customer = create_customer(api)
        assert _erase(api, customer["id"], **kwargs).status_code == 200

    def test_source_id_is_free_again(self, api: httpx.Client) -> None:
        first = create_customer(api, source_id="again")
        _erase(api, "again")
        second = create_customer(api, source_id="again")
        assert second["id"] != first["id"]
        assert [e["type"] for e in api.get("/v1/customers/again/activity").json()["data"]] == [
            "customer.created"
        ]


class TestNotFound:
    def test_unknown_customer_is_404(self, api: httpx.Client) -> None:
        response = _erase(api, "nobody")
        assert response.status_code == 404
        body = response.json()
        assert body["key"] == "not_found"
        assert body["resource_type"] == "customer"
        assert body["resource_id"] == "nobody"

    def test_twice_is_404(self, api: httpx.Client) -> None:
        customer = create_customer(api)
        _erase(api, customer["id"])
        assert _erase(api, customer["id"]).status_code == 404

    def test_other_projects_customer_is_404(
        self, api: httpx.Client, other_api: httpx.Client
    ) -> None:
        customer = create_customer(other_api)
        assert _erase(api, customer["id"]).status_code == 404
        assert _erase(api, customer["source_id"]).status_code == 404
        assert other_api.get(f"/v1/customers/{customer['id']}").status_code == 200


class TestSoftDeleted:
    def test_tombstone_is_erased_by_source_id(self, api: httpx.Client, server: Server) -> None:
        source_id = "tomb-" + secrets.token_hex(4)
        dead = create_customer(api, source_id=source_id)
        api.delete(f"/v1/customers/{dead['id']}")
        response = _erase(api, source_id)
        assert response.status_code == 200
        assert response.json()["related_object_id"] == dead["id"]
        assert _rows_mentioning(server.backend, [dead["id"], source_id]) == []

    def test_live_customer_takes_its_tombstones_along(
        self, api: httpx.Client, server: Server
    ) -> None:
        source_id = "twice-" + secrets.token_hex(4)
        dead = create_customer(api, source_id=source_id)
        api.delete(f"/v1/customers/{dead['id']}")
        live = create_customer(api, source_id=source_id)
        response = _erase(api, source_id)
        assert response.json()["related_object_id"] == live["id"]
        assert response.json()["data_json"]["customer"] == 2
        assert _rows_mentioning(server.backend, [dead["id"], live["id"], source_id]) == []


def _holdings(api: httpx.Client, source_id: str) -> None:
    """A voucher published to the customer, through the redeemables endpoints."""
    code = "ERASE-" + secrets.token_hex(4).upper()
    voucher = api.post(
        "/v1/vouchers",
        json={
            "code": code,
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "AMOUNT", "amount_off": 100},
        },
    )
    assert voucher.status_code == 200, voucher.text
    published = api.post(
        "/v1/publications",
        json={
            "voucher": code,
            "customer": {"source_id": source_id},
            "channel": "API",
            "metadata": {"why": "erasure test"},
        },
    )
    assert published.status_code == 200, published.text


class TestNothingLeft:
    def test_every_table_is_clean(self, api: httpx.Client, server: Server) -> None:
        tag = secrets.token_hex(5)
        person = {
            "source_id": f"gdpr-{tag}",
            "name": f"Zebulon Quark {tag}",
            "email": f"zq-{tag}@example.org",
            "phone": f"+48 600 {int(tag, 16) % 10**7:07d}",
            "address": {"city": f"Oslo-{tag}"},
            "metadata": {"tier": "gold"},
        }
        # An idempotent request stores the response (their data) for 24 h.
        created = api.post("/v1/customers", json=person, headers={"Idempotency-Key": tag})
        assert created.status_code == 200
        customer_id = created.json()["id"]
        api.put(f"/v1/customers/{customer_id}", json={"description": "likes tea"})
        neighbour = create_customer(api, source_id=f"other-{tag}", address={"city": f"Oslo-{tag}"})
        # Segment memberships: a static list and an auto-update rule they match.
        static = api.post(
            "/v1/segments",
            json={"name": f"list-{tag}", "type": "static", "customers": [customer_id]},
        )
        assert static.status_code == 200, static.text
        auto = api.post(
            "/v1/segments",
            json={
                "name": f"gold-{tag}",
                "type": "auto-update",
                "filter": {"metadata.tier": {"conditions": {"$is": ["gold"]}}},
            },
        )
        assert auto.status_code == 200, auto.text
        api.put(f"/v1/customers/{customer_id}", json={"metadata": {"tier": "gold", "n": 1}})
        # A CSV job that failed a row carrying their source_id (bad birthdate).
        job = upload_csv(api, f"source_id,birthdate\n{person['source_id']},not-a-date\n")
        result = wait_done(api, job.json()["async_action_id"])
        assert result["result"]["failed_count"] == 1, result
        _holdings(api, person["source_id"])

        needles = [
            customer_id,
            person["source_id"],
            person["email"],
            person["name"],
            person["phone"],
        ]
        assert _rows_mentioning(server.backend, needles)  # the scan does see them before
        response = _erase(api, person["source_id"])
        assert response.status_code == 200, response.text
        data = response.json()["data_json"]
        assert data["segments"] == 2
        assert data["customer_events"] >= 4
        assert data["async_action_failures"] == 1
        assert data["idempotency_keys"] == 1
        assert data["publications"] == 1
        assert _rows_mentioning(server.backend, needles) == []
        # Everyone else is untouched, and the job's report still counts the failed row.
        assert api.get(f"/v1/customers/{neighbour['id']}").status_code == 200
        report = api.get(f"/v1/async-actions/{job.json()['async_action_id']}").json()
        assert report["result"]["failed_count"] == 1
        assert report["result"]["failed"] == []
        # The idempotency key is free: the same request runs again (a new customer).
        again = api.post("/v1/customers", json=person, headers={"Idempotency-Key": tag})
        assert again.status_code == 200
        assert "idempotent-replayed" not in again.headers
        assert again.json()["id"] != customer_id


class TestRunningJob:
    def test_a_queued_job_naming_the_person_blocks_the_erasure(
        self, workerless_server: Server
    ) -> None:
        project: Project = new_project(workerless_server.backend)
        with httpx.Client(base_url=workerless_server.base_url, headers=project.headers) as api:
            named = create_customer(api, source_id="in,job" + secrets.token_hex(3))
            bystander = create_customer(api)
            queued = api.post(
                "/v1/customers/bulk/async", json=[{"source_id": named["source_id"], "name": "x"}]
            )
            assert queued.status_code == 202
            blocked = _erase(api, named["id"])
            assert blocked.status_code == 409
            assert blocked.json()["key"] == "resource_in_use"
            assert blocked.json()["resource_id"] == queued.json()["async_action_id"]
            assert api.get(f"/v1/customers/{named['id']}").status_code == 200
            assert _erase(api, bystander["id"]).status_code == 200
