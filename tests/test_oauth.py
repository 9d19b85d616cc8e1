"""OAuth 2.0 client credentials: token, introspect, revoke, and Bearer calls with scopes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from patrons.db import database
from tests.conftest import Project, Server, start_server
from tests.factories import create_customer
from tests.helpers import assert_error

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN_KEYS = {"access_token", "client_id", "expires_at", "expires_in", "scope", "token_type"}


def get_token(api: httpx.Client, scope: str = "api") -> str:
    response = api.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials", "scope": scope}
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def sql(server: Server, statement: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            async with db.transaction() as conn:
                return [tuple(row) for row in await conn.fetch(statement, *args)]
        finally:
            await db.close()

    return asyncio.run(run())


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TestGenerateToken:
    def test_returns_the_spec_shape(self, api: httpx.Client, project: Project) -> None:
        before = int(time.time())
        response = api.post(
            "/v1/oauth/token",
            content="grant_type=client_credentials&scope=customers+segments",
            headers=FORM,
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == TOKEN_KEYS
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert before + 899 <= body["expires_at"] <= int(time.time()) + 900
        assert body["client_id"] == project.app_id
        assert body["scope"] == "customers segments"
        assert len(body["access_token"]) >= 40

    def test_each_call_gives_a_new_token(self, api: httpx.Client) -> None:
        assert get_token(api) != get_token(api)

    def test_only_the_sha256_is_stored(self, api: httpx.Client, server: Server) -> None:
        token = get_token(api)
        assert sql(server, "SELECT 1 FROM oauth_token WHERE token_hash = $1", token) == []
        assert len(sql(server, "SELECT 1 FROM oauth_token WHERE token_hash = $1", sha256(token)))

    def test_needs_app_keys(self, anon: httpx.Client) -> None:
        response = anon.post("/v1/oauth/token", data={"grant_type": "client_credentials"})
        assert_error(response, 401, "unauthorized")

    def test_a_token_cannot_mint_tokens(self, api: httpx.Client, server: Server) -> None:
        with bearer(server, get_token(api)) as client:
            response = client.post(
                "/v1/oauth/token", data={"grant_type": "client_credentials", "scope": "api"}
            )
        assert_error(response, 401, "unauthorized")

    def test_bad_grant_type(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/token", data={"grant_type": "password", "scope": "api"})
        body = assert_error(response, 400, "invalid_grant_type")
        assert body["message"] == "Invalid grant_type"

    def test_invalid_scope_names_the_values(self, api: httpx.Client) -> None:
        response = api.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials", "scope": "vouchers,campaigns"},
        )
        body = assert_error(response, 400, "invalid_scope")
        assert body["message"] == "Invalid scope: vouchers,campaigns"

    def test_one_unknown_value_spoils_the_scope(self, api: httpx.Client) -> None:
        response = api.post(
            "/v1/oauth/token", data={"grant_type": "client_credentials", "scope": "api nope"}
        )
        assert assert_error(response, 400, "invalid_scope")["message"] == "Invalid scope: nope"

    @pytest.mark.parametrize(
        "form",
        [
            {"scope": "api"},
            {"grant_type": "client_credentials"},
            {"grant_type": "client_credentials", "scope": "  "},
            {},
        ],
    )
    def test_missing_parameters(self, api: httpx.Client, form: dict[str, str]) -> None:
        response = api.post("/v1/oauth/token", data=form, headers=FORM)
        assert_error(response, 400, "missing_parameters")

    def test_json_body_is_accepted(self, api: httpx.Client) -> None:
        response = api.post(
            "/v1/oauth/token", json={"grant_type": "client_credentials", "scope": "segments"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "segments"


class TestMalformedForms:
    @pytest.mark.parametrize(
        "content",
        [
            b"grant_type=client_credentials&scope=\xff\xfe",  # not UTF-8
            b"grant_type=client_credentials&scope=%ff",  # percent-encoded non-UTF-8
            b"grant_type=client_credentials&scope=api&scope=customers",  # repeated field
            b"grant_type=client_credentials&scope=api%00",  # NUL
            b"&".join([b"f%d=x" % i for i in range(100)]),  # absurdly many fields
        ],
    )
    def test_is_invalid_payload(self, api: httpx.Client, content: bytes) -> None:
        response = api.post("/v1/oauth/token", content=content, headers=FORM)
        assert_error(response, 400, "invalid_payload")

    def test_json_that_is_not_an_object_of_strings(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/token", json={"grant_type": 1, "scope": ["api"]})
        assert_error(response, 400, "invalid_payload")

    def test_other_media_type_is_415(self, api: httpx.Client) -> None:
        response = api.post(
            "/v1/oauth/token",
            content=b"grant_type=client_credentials&scope=api",
            headers={"Content-Type": "text/plain"},
        )
        assert_error(response, 415, None)

    def test_get_is_405(self, api: httpx.Client) -> None:
        assert api.get("/v1/oauth/token").status_code == 405


class TestBearerCalls:
    def test_api_scope_reaches_every_customer_endpoint(
        self, api: httpx.Client, server: Server
    ) -> None:
        with bearer(server, get_token(api, "api")) as client:
            created = client.post("/v1/customers", json={"source_id": "via-token"})
            assert created.status_code == 200, created.text
            assert client.get("/v1/customers/via-token").json()["id"] == created.json()["id"]
            assert client.get("/v1/customers").json()["total"] == 1
            assert client.get("/v1/segments").status_code == 200
            assert client.get("/v1/async-actions").status_code == 200
        assert api.get("/v1/customers/via-token").status_code == 200

    def test_customers_scope(self, api: httpx.Client, server: Server) -> None:
        create_customer(api, source_id="c1")
        with bearer(server, get_token(api, "customers")) as client:
            assert client.get("/v1/customers/c1").status_code == 200  # the fast lane
            assert client.get("/v1/customers").status_code == 200
            assert client.get("/v1/customers/c1/segments").status_code == 200
            assert_error(client.get("/v1/segments"), 403, "missing_required_permission")
            assert_error(client.get("/v1/async-actions"), 403, "missing_required_permission")

    def test_segments_only_token_cannot_list_customers(
        self, api: httpx.Client, server: Server
    ) -> None:
        create_customer(api, source_id="c1")
        with bearer(server, get_token(api, "segments")) as client:
            assert client.get("/v1/segments").status_code == 200
            body = assert_error(client.get("/v1/customers"), 403, "missing_required_permission")
            assert body["message"] == "Missing permission"
            assert "customers" in body["details"]
            assert_error(client.get("/v1/customers/c1"), 403, "missing_required_permission")
            denied = client.post("/v1/customers", json={"source_id": "sneaky"})
            assert_error(denied, 403, "missing_required_permission")
        assert api.get("/v1/customers/sneaky").status_code == 404

    def test_async_actions_scope(self, api: httpx.Client, server: Server) -> None:
        with bearer(server, get_token(api, "async-actions")) as client:
            assert client.get("/v1/async-actions").status_code == 200
            assert_error(client.get("/v1/customers"), 403, "missing_required_permission")

    @pytest.mark.parametrize(
        ("scope", "allowed", "denied"),
        [
            ("campaigns", "/v1/campaigns", "/v1/vouchers/CODE"),
            ("vouchers", "/v1/vouchers/CODE", "/v1/campaigns"),
            ("referrals", "/v1/referrals/members/m/holders", "/v1/campaigns"),
            ("api", "/v1/campaigns", None),
        ],
    )
    def test_scopes_of_the_other_resources(
        self, api: httpx.Client, server: Server, scope: str, allowed: str, denied: str | None
    ) -> None:
        with bearer(server, get_token(api, scope)) as client:
            response = client.get(allowed)
            assert response.status_code in (200, 404), response.text
            if response.status_code == 404:
                assert response.json()["key"] == "not_found"  # routed, just nothing there
            if denied is not None:
                assert_error(client.get(denied), 403, "missing_required_permission")

    def test_unknown_token_is_401(self, server: Server) -> None:
        with bearer(server, "not-a-token") as client:
            assert_error(client.get("/v1/customers"), 401, "unauthorized")

    @pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer  x y", "token"])
    def test_malformed_authorization_is_401(self, anon: httpx.Client, header: str) -> None:
        response = anon.get("/v1/customers", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")

    def test_scheme_is_case_insensitive(self, api: httpx.Client, anon: httpx.Client) -> None:
        token = get_token(api, "customers")
        response = anon.get("/v1/customers", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200, response.text

    def test_app_keys_win_over_a_bad_bearer(self, api: httpx.Client) -> None:
        response = api.get("/v1/customers", headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 200

    def test_token_of_one_project_cannot_read_another(
        self, api: httpx.Client, other_api: httpx.Client, server: Server
    ) -> None:
        theirs = create_customer(other_api, source_id="theirs")
        mine = create_customer(api, source_id="mine")
        with bearer(server, get_token(api, "api")) as client:
            assert client.get(f"/v1/customers/{theirs['id']}").status_code == 404
            assert client.get("/v1/customers/theirs").status_code == 404
            listed = client.get("/v1/customers").json()
            assert [c["id"] for c in listed["customers"]] == [mine["id"]]
            assert client.delete(f"/v1/customers/{theirs['id']}").status_code == 404
        assert other_api.get("/v1/customers/theirs").status_code == 200

    def test_token_dies_with_its_key(self, api: httpx.Client, server: Server, project) -> None:
        token = get_token(api, "api")
        with bearer(server, token) as client:
            assert client.get("/v1/customers").status_code == 200
            sql(server, "DELETE FROM api_key WHERE app_id = $1", project.app_id)
            assert_error(client.get("/v1/customers"), 401, "unauthorized")


class TestIntrospect:
    def test_active_token(self, api: httpx.Client, project: Project) -> None:
        token = get_token(api, "customers")
        response = api.post("/v1/oauth/introspect", data={"access_token": token})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {*TOKEN_KEYS, "active"}
        assert body["active"] is True
        assert body["access_token"] == token
        assert body["client_id"] == project.app_id
        assert body["scope"] == "customers"
        assert body["token_type"] == "Bearer"
        assert 895 <= body["expires_in"] <= 900
        assert abs(body["expires_at"] - (time.time() + body["expires_in"])) <= 2

    def test_unknown_token_is_inactive(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/introspect", data={"access_token": "nope"})
        assert response.status_code == 200
        assert response.json() == {"active": False}

    def test_other_projects_token_is_inactive(
        self, api: httpx.Client, other_api: httpx.Client
    ) -> None:
        token = get_token(other_api)
        response = api.post("/v1/oauth/introspect", data={"access_token": token})
        assert response.json() == {"active": False}

    def test_missing_token(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/introspect", data={}, headers=FORM)
        body = assert_error(response, 400, "missing_parameters")
        assert body["message"] == "Missing parameters"


class TestRevoke:
    def test_revoked_token_fails_at_once(self, api: httpx.Client, server: Server) -> None:
        token = get_token(api)
        with bearer(server, token) as client:
            assert client.get("/v1/customers").status_code == 200
            response = api.post("/v1/oauth/token/revoke", data={"access_token": token})
            assert response.status_code == 204
            assert response.content == b""
            assert_error(client.get("/v1/customers"), 401, "unauthorized")
            assert_error(client.get("/v1/customers/x"), 401, "unauthorized")  # fast lane
        introspected = api.post("/v1/oauth/introspect", data={"access_token": token})
        assert introspected.json() == {"active": False}

    def test_revoking_twice_is_404(self, api: httpx.Client) -> None:
        token = get_token(api)
        assert api.post("/v1/oauth/token/revoke", data={"access_token": token}).status_code == 204
        again = api.post("/v1/oauth/token/revoke", data={"access_token": token})
        body = assert_error(again, 404, "not_found")
        assert token not in again.text
        assert "resource_id" not in body

    def test_unknown_token_is_404(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/token/revoke", data={"access_token": "nope"})
        assert_error(response, 404, "not_found")

    def test_missing_token(self, api: httpx.Client) -> None:
        response = api.post("/v1/oauth/token/revoke", content=b"", headers=FORM)
        assert_error(response, 400, "missing_parameters")

    def test_cannot_revoke_another_projects_token(
        self, api: httpx.Client, other_api: httpx.Client, server: Server
    ) -> None:
        token = get_token(other_api)
        response = api.post("/v1/oauth/token/revoke", data={"access_token": token})
        assert_error(response, 404, "not_found")
        with bearer(server, token) as client:
            assert client.get("/v1/customers").status_code == 200


@pytest.fixture
def second_server(server: Server, tmp_path: Path) -> Iterator[Server]:
    """Another API process on the same database."""
    twin, stop = start_server(server.backend, tmp_path, PATRONS_EMBEDDED_WORKER="0")
    try:
        yield twin
    finally:
        stop()


class TestAcrossProcesses:
    def test_revocation_holds_on_every_process(
        self, api: httpx.Client, server: Server, second_server: Server
    ) -> None:
        token = get_token(api)
        with bearer(server, token) as here, bearer(second_server, token) as there:
            assert here.get("/v1/customers").status_code == 200
            assert there.get("/v1/customers").status_code == 200  # warm, if anything caches
            assert api.post("/v1/oauth/token/revoke", data={"access_token": token}).status_code
            assert_error(there.get("/v1/customers"), 401, "unauthorized")
            assert_error(there.get("/v1/customers/x"), 401, "unauthorized")
            assert_error(here.get("/v1/customers"), 401, "unauthorized")


class TestExpiry:
    def test_expired_token_fails_and_is_inactive(self, api: httpx.Client, server: Server) -> None:
        token = get_token(api)
        with bearer(server, token) as client:
            assert client.get("/v1/customers").status_code == 200
            past = int(time.time() * 1000) - 1
            sql(
                server,
                "UPDATE oauth_token SET expires_at = $2 WHERE token_hash = $1",
                sha256(token),
                past,
            )
            assert_error(client.get("/v1/customers"), 401, "unauthorized")
        response = api.post("/v1/oauth/introspect", data={"access_token": token})
        assert response.json() == {"active": False}
        assert api.post("/v1/oauth/token/revoke", data={"access_token": token}).status_code == 404

    def test_ttl_is_configurable(self, server: Server, tmp_path: Path) -> None:
        short, stop = start_server(
            server.backend,
            tmp_path,
            PATRONS_OAUTH_TOKEN_TTL_SECONDS="2",
            PATRONS_EMBEDDED_WORKER="0",
        )
        try:
            with httpx.Client(
                base_url=short.base_url,
                headers={"X-App-Id": short.app_id, "X-App-Token": short.app_token},
            ) as api:
                response = api.post(
                    "/v1/oauth/token", data={"grant_type": "client_credentials", "scope": "api"}
                )
                assert response.json()["expires_in"] == 2
                with bearer(short, response.json()["access_token"]) as client:
                    assert client.get("/v1/customers").status_code == 200
                    time.sleep(2.1)
                    assert_error(client.get("/v1/customers"), 401, "unauthorized")
        finally:
            stop()
