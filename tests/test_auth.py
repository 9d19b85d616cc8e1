"""Authentication and tenancy: keys are checked on every /v1 call; projects are walls."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import create_customer

UNAUTHORIZED = {"code": 401, "key": "unauthorized", "message": "Unauthorized"}


class TestAuthentication:
    def test_missing_headers_is_401(self, anon: httpx.Client) -> None:
        response = anon.get("/v1/customers")
        assert response.status_code == 401
        body = response.json()
        assert {k: body[k] for k in UNAUTHORIZED} == UNAUTHORIZED
        assert body["request_id"].startswith("v-")

    def test_wrong_token_is_401(self, anon: httpx.Client, project) -> None:
        response = anon.get(
            "/v1/customers", headers={"X-App-Id": project.app_id, "X-App-Token": "wrong"}
        )
        assert response.status_code == 401
        assert response.json()["key"] == "unauthorized"

    def test_unknown_app_id_is_401(self, anon: httpx.Client, project) -> None:
        response = anon.get(
            "/v1/customers", headers={"X-App-Id": "nope", "X-App-Token": project.app_token}
        )
        assert response.status_code == 401

    def test_token_of_another_project_is_401(self, anon, project, other_project) -> None:
        response = anon.get(
            "/v1/customers",
            headers={"X-App-Id": project.app_id, "X-App-Token": other_project.app_token},
        )
        assert response.status_code == 401

    def test_rejected_write_changes_nothing(self, anon, api) -> None:
        response = anon.post("/v1/customers", json={"source_id": "intruder"})
        assert response.status_code == 401
        assert api.get("/v1/customers/intruder").status_code == 404


class TestTenancy:
    @pytest.fixture
    def theirs(self, other_api: httpx.Client) -> dict:
        return create_customer(other_api, source_id="shared-id", email="them@example.org")

    def test_get_by_id_of_other_project_is_404(self, api, theirs) -> None:
        response = api.get(f"/v1/customers/{theirs['id']}")
        assert response.status_code == 404
        assert response.json()["resource_id"] == theirs["id"]

    def test_get_by_source_id_of_other_project_is_404(self, api, theirs) -> None:
        assert api.get("/v1/customers/shared-id").status_code == 404

    def test_update_of_other_project_is_404_and_changes_nothing(
        self, api, other_api, theirs
    ) -> None:
        assert api.put(f"/v1/customers/{theirs['id']}", json={"name": "X"}).status_code == 404
        assert other_api.get(f"/v1/customers/{theirs['id']}").json()["name"] == theirs["name"]

    def test_delete_of_other_project_is_404_and_keeps_customer(
        self, api, other_api, theirs
    ) -> None:
        assert api.delete(f"/v1/customers/{theirs['id']}").status_code == 404
        assert other_api.get(f"/v1/customers/{theirs['id']}").status_code == 200

    def test_same_source_id_makes_separate_customers(self, api, other_api, theirs) -> None:
        mine = create_customer(api, source_id="shared-id", email="me@example.org")
        assert mine["id"] != theirs["id"]
        assert other_api.get("/v1/customers/shared-id").json()["email"] == "them@example.org"

    def test_upsert_by_id_of_other_project_is_404(self, api, theirs) -> None:
        response = api.post("/v1/customers", json={"id": theirs["id"], "name": "X"})
        assert response.status_code == 404

    def test_list_shows_only_own_customers(self, api, theirs) -> None:
        mine = create_customer(api)
        body = api.get("/v1/customers").json()
        assert [c["id"] for c in body["customers"]] == [mine["id"]]
        assert body["total"] == 1
        assert api.get("/v1/customers", params={"email": theirs["email"]}).json()["total"] == 0
