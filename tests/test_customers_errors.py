"""Bad input: the Voucherify error object with the right status, and no data changed."""

from __future__ import annotations

import pytest

from tests.factories import create_customer
from tests.helpers import assert_error


class TestInvalidPayload:
    @pytest.mark.parametrize(
        ("payload", "fragment"),
        [
            ({"email": 5}, ".email"),
            ({"name": ["x"]}, ".name"),
            ({"birthdate": "10/12/1990"}, ".birthdate"),
            ({"birthdate": "1990-13-45"}, ".birthdate"),
            ({"address": "London"}, ".address"),
            ({"address": {"city": 7}}, ".address.city"),
            ({"metadata": [1, 2]}, ".metadata"),
            ({"source_id": 12}, ".source_id"),
        ],
    )
    def test_wrong_types_on_create(self, api, payload: dict, fragment: str) -> None:
        body = assert_error(api.post("/v1/customers", json=payload), 400, "invalid_payload")
        assert body["message"] == "Invalid payload"
        assert fragment in body["details"]
        assert api.get("/v1/customers").json()["total"] == 0

    def test_wrong_type_on_update_changes_nothing(self, api) -> None:
        before = create_customer(api, source_id="e-1", name="Ada")
        body = assert_error(
            api.put("/v1/customers/e-1", json={"name": "New", "email": 5}), 400, "invalid_payload"
        )
        assert ".email" in body["details"]
        assert api.get("/v1/customers/e-1").json() == before

    @pytest.mark.parametrize("raw", [b"{", b"[1,2]", b'"text"', b"null", b"", b"   "])
    def test_malformed_or_non_object_body(self, api, raw: bytes) -> None:
        response = api.post(
            "/v1/customers", content=raw, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 400, "invalid_payload")
        assert api.get("/v1/customers").json()["total"] == 0

    def test_put_requires_a_body(self, api) -> None:
        create_customer(api, source_id="e-2")
        assert_error(api.put("/v1/customers/e-2"), 400, "invalid_payload")

    def test_non_json_content_type_is_415(self, api) -> None:
        response = api.post(
            "/v1/customers", content=b"name=x", headers={"Content-Type": "text/plain"}
        )
        assert_error(response, 415, None)
        assert api.get("/v1/customers").json()["total"] == 0


class TestTooLarge:
    def test_body_over_limit_is_413_in_boom_shape(self, api) -> None:
        big = b'{"metadata": {"blob": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
        response = api.post(
            "/v1/customers", content=big, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        body = response.json()
        assert body["statusCode"] == 413
        assert body["error"] == "Request Entity Too Large"
        assert body["message"] == "Payload content length greater than maximum allowed: 10485760"
        assert api.get("/v1/customers").json()["total"] == 0


class TestQueryParams:
    @pytest.mark.parametrize(
        "params",
        [
            {"limit": "0"},
            {"limit": "101"},
            {"limit": "ten"},
            {"page": "0"},
            {"page": "100"},
            {"order": "name"},
            {"created_at[before]": "yesterday"},
            {"updated_at[after]": "2024-13-01"},
            {"starting_after": "not-a-date"},
        ],
    )
    def test_invalid_list_params_are_400(self, api, params: dict) -> None:
        body = assert_error(api.get("/v1/customers", params=params), 400, "invalid_query_params")
        assert body["message"] == "Invalid query params"
        name = next(iter(params)).split("[")[0]
        assert f".{name}" in body["details"]


class TestRoutingErrors:
    def test_unknown_route_is_json_404(self, api) -> None:
        assert_error(api.get("/v1/nothing-here"), 404, "not_found")

    def test_unknown_route_outside_v1_is_json_404(self, api) -> None:
        assert_error(api.get("/definitely/not"), 404, "not_found")

    def test_wrong_method_is_405_with_hint(self, api) -> None:
        body = assert_error(api.patch("/v1/customers/x", json={}), 405, None)
        assert body["message"] == "HTTP Method Not Allowed"
        assert body["details"].startswith("PATCH is not supported by this endpoint.")
        assert "GET" in body["details"]

    def test_not_found_object(self, api) -> None:
        body = assert_error(api.get("/v1/customers/nope"), 404, "not_found")
        assert body == {
            "code": 404,
            "key": "not_found",
            "message": "Resource not found",
            "details": "Cannot find customer with id nope",
            "request_id": body["request_id"],
            "resource_id": "nope",
            "resource_type": "customer",
        }

    def test_every_response_has_a_request_id(self, api) -> None:
        ok = api.get("/v1/customers")
        assert ok.headers["x-request-id"].startswith("v-")
        created = api.post("/v1/customers", json={})
        assert created.headers["x-request-id"] != ok.headers["x-request-id"]


class TestHostileText:
    def test_nul_in_body_is_400(self, api) -> None:
        response = api.post(
            "/v1/customers",
            content=b'{"source_id": "a\\u0000b"}',
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "invalid_payload")
        assert api.get("/v1/customers").json()["total"] == 0

    def test_lone_surrogate_in_body_is_400(self, api) -> None:
        response = api.post(
            "/v1/customers",
            content=b'{"name": "\\ud800"}',
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "invalid_payload")

    @pytest.mark.parametrize("path_id", ["a%00b", "%FF%FE", "%C3"])
    def test_undecodable_path_ids_are_404(self, api, path_id: str) -> None:
        assert_error(api.get(f"/v1/customers/{path_id}"), 404, "not_found")

    def test_nul_in_query_is_400(self, api) -> None:
        assert_error(api.get("/v1/customers?email=a%00b"), 400, "invalid_query_params")
