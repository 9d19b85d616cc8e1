"""Wire details the official SDK suites and the real service agree on (issue 15).

OPTIONS lists every method of a route; non-canonical paths are unknown routes after
authentication; a campaign without `campaign_type` is the program its voucher type implies;
campaigns sort by `updated_at`; a voucher without `type` is a DISCOUNT_VOUCHER; a publication
may name its customer by e-mail alone; the customers list matches e-mails case-insensitively.
"""

from __future__ import annotations

import pytest

from tests.factories import create_customer
from tests.helpers import assert_error
from tests.test_bad_input_corpus import Case, send_raw

DISCOUNT = {"type": "PERCENT", "percent_off": 10}


class TestOptions:
    @pytest.mark.parametrize(
        ("path", "allow"),
        [
            ("/v1/customers", "GET, POST, OPTIONS"),
            ("/v1/customers/someone", "GET, PUT, DELETE, OPTIONS"),
            ("/v1/customers/someone/activity", "GET, OPTIONS"),
            ("/v1/segments/seg_x", "GET, DELETE, OPTIONS"),
            ("/v1/vouchers/CODE", "GET, POST, PUT, DELETE, OPTIONS"),
        ],
    )
    def test_allow_lists_every_method_of_the_route(self, api, path: str, allow: str) -> None:
        response = api.options(path)
        assert response.status_code == 204
        assert response.headers["allow"] == allow
        refused = api.patch(path)
        assert refused.status_code == 405
        assert set(refused.headers["allow"].split(", ")) == set(allow.split(", "))

    def test_unknown_route_is_404(self, api) -> None:
        assert_error(api.options("/v1/nothing"), 404, "not_found")


class TestOddPaths:
    @pytest.mark.parametrize(
        "path", ["//v1/customers/a@b.c", "/v1//customers", "/v1/./customers", "/v1/a/../customers"]
    )
    def test_404_after_authentication(self, server, project, path: str) -> None:
        without = send_raw(server.base_url, Case("", "GET", path), {})
        assert_error(without, 401, "unauthorized")
        with_keys = send_raw(server.base_url, Case("", "GET", path), project.headers)
        assert_error(with_keys, 404, "not_found")

    @pytest.mark.parametrize("query", ["?=true", "?0=x", "?[]=1"])
    def test_query_of_bare_keys_is_a_4xx_not_a_500(self, api, query: str) -> None:
        create_customer(api, source_id="q-1")
        assert api.get("/v1/customers/q-1/redeemables" + query).status_code == 200
        assert_error(api.get("/v1/publications/create" + query), 400, "invalid_payload")


class TestCampaignDefaults:
    def test_loyalty_card_template_makes_a_loyalty_program(self, api) -> None:
        body = {"name": "Club", "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 0}}}
        response = api.post("/v1/campaigns", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["campaign_type"] == "LOYALTY_PROGRAM"

    def test_gift_template_makes_gift_vouchers(self, api) -> None:
        body = {"name": "Gifts", "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 100}}}
        assert api.post("/v1/campaigns", json=body).json()["campaign_type"] == "GIFT_VOUCHERS"

    def test_nothing_said_makes_discount_coupons(self, api) -> None:
        body = {"name": "Codes", "voucher": {"discount": DISCOUNT}}
        assert api.post("/v1/campaigns", json=body).json()["campaign_type"] == "DISCOUNT_COUPONS"

    @pytest.mark.parametrize("order", ["updated_at", "-updated_at"])
    def test_list_orders_by_updated_at(self, api, order: str) -> None:
        for name in ("one", "two"):
            body = {
                "name": name,
                "campaign_type": "DISCOUNT_COUPONS",
                "voucher": {"discount": DISCOUNT},
            }
            assert api.post("/v1/campaigns", json=body).status_code == 200
        names = [
            c["name"] for c in api.get("/v1/campaigns", params={"order": order}).json()["campaigns"]
        ]
        assert names == (["one", "two"] if order == "updated_at" else ["two", "one"])


class TestVoucherWithoutType:
    def test_is_a_discount_voucher(self, api) -> None:
        response = api.post("/v1/vouchers/NOTYPE-1", json={"discount": DISCOUNT})
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "DISCOUNT_VOUCHER"


class TestPublicationByEmail:
    def _voucher(self, api, code: str) -> None:
        assert api.post(f"/v1/vouchers/{code}", json={"discount": DISCOUNT}).status_code == 200

    def test_matches_the_customer_with_that_email_case_insensitively(self, api) -> None:
        known = create_customer(api, source_id="pe-1", email="Ada@Example.org")
        self._voucher(api, "PE-1")
        response = api.post(
            "/v1/publications", json={"voucher": "PE-1", "customer": {"email": "ada@example.ORG"}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["customer_id"] == known["id"]
        assert api.get("/v1/customers").json()["total"] == 1

    def test_unknown_email_creates_a_customer(self, api) -> None:
        self._voucher(api, "PE-2")
        response = api.post(
            "/v1/publications",
            json={"voucher": "PE-2", "customer": {"email": "new@example.org", "name": "New"}},
        )
        assert response.status_code == 200, response.text
        made = api.get(f"/v1/customers/{response.json()['customer_id']}").json()
        assert (made["email"], made["name"], made["source_id"]) == ("new@example.org", "New", None)


class TestEmailFilter:
    def test_matches_case_insensitively(self, api) -> None:
        create_customer(api, source_id="ef-1", email="Grace@Example.org")
        create_customer(api, source_id="ef-2", email="other@example.org")
        listed = api.get("/v1/customers", params={"email": "grace@example.ORG"}).json()
        assert [c["source_id"] for c in listed["customers"]] == ["ef-1"]
        assert listed["total"] == 1
