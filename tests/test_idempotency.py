"""Idempotency-Key on POST/PUT: replay, mismatch, concurrency, tenancy, 4xx, GET, validation."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from tests.conftest import Project, Server
from tests.factories import create_customer


def _key() -> str:
    return "key-" + secrets.token_hex(8)


def _count(api: httpx.Client) -> int:
    return api.get("/v1/customers", params={"limit": 1}).json()["total"]


def _events(api: httpx.Client, customer_id: str) -> int:
    return len(api.get(f"/v1/customers/{customer_id}/activity").json()["data"])


class TestReplay:
    def test_same_request_replays_without_running_again(self, api: httpx.Client) -> None:
        key, body = _key(), {"source_id": "idem-" + secrets.token_hex(4), "name": "Ada"}
        first = api.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == 200
        assert "idempotent-replayed" not in first.headers
        events = _events(api, first.json()["id"])
        again = api.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers["x-request-id"] != first.headers["x-request-id"]
        assert _count(api) == 1
        assert _events(api, first.json()["id"]) == events  # no customer.updated either

    def test_put_is_replayed(self, api: httpx.Client) -> None:
        customer = create_customer(api)
        key = _key()
        path = f"/v1/customers/{customer['id']}"
        first = api.put(path, json={"name": "Once"}, headers={"Idempotency-Key": key})
        events = _events(api, customer["id"])
        again = api.put(path, json={"name": "Once"}, headers={"Idempotency-Key": key})
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert _events(api, customer["id"]) == events

    def test_4xx_is_replayed(self, api: httpx.Client) -> None:
        key = _key()
        first = api.put("/v1/customers/nobody", json={}, headers={"Idempotency-Key": key})
        assert first.status_code == 404
        create_customer(api, source_id="nobody")  # exists now, but the key answers as before
        again = api.put("/v1/customers/nobody", json={}, headers={"Idempotency-Key": key})
        assert again.status_code == 404
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"

    def test_csv_upload_is_replayed(self, api: httpx.Client) -> None:
        """A streamed multipart body is hashed too; the same bytes replay the first 202."""
        key, boundary = _key(), "b0undary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\nsource_id,name\ncsv-idem-1,A\n\r\n--{boundary}--\r\n"
        ).encode()
        headers = {
            "Idempotency-Key": key,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        first = api.post("/v1/customers/importCSV", content=body, headers=headers)
        assert first.status_code == 202, first.text
        again = api.post("/v1/customers/importCSV", content=body, headers=headers)
        assert again.status_code == 202
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"


class TestMismatch:
    def test_different_body_same_key_is_409_and_writes_nothing(self, api: httpx.Client) -> None:
        key = _key()
        api.post("/v1/customers", json={"source_id": "m-1"}, headers={"Idempotency-Key": key})
        other = api.post(
            "/v1/customers", json={"source_id": "m-2"}, headers={"Idempotency-Key": key}
        )
        assert other.status_code == 409
        assert other.json()["key"] == "idempotency_key_reused"
        assert other.json()["code"] == 409
        assert "request_id" in other.json()
        assert api.get("/v1/customers/m-2").status_code == 404
        assert _count(api) == 1

    def test_different_path_same_key_is_409(self, api: httpx.Client) -> None:
        key = _key()
        create_customer(api, source_id="p-1")
        api.put("/v1/customers/p-1", json={"name": "x"}, headers={"Idempotency-Key": key})
        other = api.post("/v1/customers", json={"name": "x"}, headers={"Idempotency-Key": key})
        assert other.status_code == 409


class TestConcurrency:
    def test_parallel_requests_with_one_key_execute_once(
        self, server: Server, project: Project
    ) -> None:
        key, source_id = _key(), "race-" + secrets.token_hex(4)

        async def fire() -> list[httpx.Response]:
            async with httpx.AsyncClient(
                base_url=server.base_url, headers=project.headers, timeout=30
            ) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/v1/customers",
                            json={"source_id": source_id, "name": "Race"},
                            headers={"Idempotency-Key": key},
                        )
                        for _ in range(12)
                    )
                )

        responses = asyncio.run(fire())
        ok = [r for r in responses if r.status_code == 200]
        assert ok, [r.text for r in responses]
        assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
        assert len({r.content for r in ok}) == 1  # one execution, the rest replays of it
        assert sum("idempotent-replayed" not in r.headers for r in ok) == 1
        with httpx.Client(base_url=server.base_url, headers=project.headers) as api:
            assert _count(api) == 1
            activity = api.get(f"/v1/customers/{source_id}/activity").json()["data"]
            assert [e["type"] for e in activity] == ["customer.created"]


class TestScope:
    def test_keys_are_per_project(self, api: httpx.Client, other_api: httpx.Client) -> None:
        key = _key()
        mine = api.post("/v1/customers", json={"source_id": "s"}, headers={"Idempotency-Key": key})
        theirs = other_api.post(
            "/v1/customers", json={"source_id": "s"}, headers={"Idempotency-Key": key}
        )
        assert theirs.status_code == 200
        assert "idempotent-replayed" not in theirs.headers
        assert theirs.json()["id"] != mine.json()["id"]
        assert _count(other_api) == 1

    def test_get_ignores_the_header(self, api: httpx.Client) -> None:
        customer = create_customer(api)
        key = _key()
        for _ in range(2):
            got = api.get(f"/v1/customers/{customer['id']}", headers={"Idempotency-Key": key})
            assert got.status_code == 200
            assert "idempotent-replayed" not in got.headers
        # The key was never stored: a POST may still use it.
        posted = api.post("/v1/customers", json={"name": "n"}, headers={"Idempotency-Key": key})
        assert posted.status_code == 200

    def test_without_header_nothing_is_replayed(self, api: httpx.Client) -> None:
        body: dict[str, Any] = {"name": "no key"}
        first, second = api.post("/v1/customers", json=body), api.post("/v1/customers", json=body)
        assert first.json()["id"] != second.json()["id"]


class TestValidation:
    def test_too_long_key_is_400(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers", json={}, headers={"Idempotency-Key": "k" * 256})
        assert response.status_code == 400
        assert response.json()["key"] == "invalid_idempotency_key"
        assert _count(api) == 0

    def test_unprintable_key_is_400(self, api: httpx.Client) -> None:
        response = api.post(
            "/v1/customers", json={}, headers=[("Idempotency-Key", "caf\u00e9".encode())]
        )
        assert response.status_code == 400

    def test_longest_valid_key_works(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers", json={}, headers={"Idempotency-Key": "k" * 255})
        assert response.status_code == 200
