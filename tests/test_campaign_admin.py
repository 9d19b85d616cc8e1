"""Campaign and voucher operations for suites' set-up and clean-up (issue 17) over HTTP on both
databases: PUT/DELETE /v1/campaigns/{id}, enable/disable, adding vouchers, GET /v1/vouchers,
card balances; tenancy walls and bad input on each."""

from __future__ import annotations

import pytest

from tests.factories import create_campaign, create_customer, create_voucher, publish, wait_done
from tests.helpers import assert_error


class TestCampaigns:
    def test_add_vouchers_one_then_many(self, api):
        campaign = create_campaign(api)

        one = api.post(f"/v1/campaigns/{campaign['id']}/vouchers")
        named = api.post(f"/v1/campaigns/{campaign['id']}/vouchers/MY-CODE-1")
        many = api.post(f"/v1/campaigns/{campaign['id']}/vouchers", params={"vouchers_count": 4})

        assert one.status_code == 200, one.text
        assert one.json()["campaign_id"] == campaign["id"]
        assert named.json()["code"] == "MY-CODE-1"
        assert many.status_code == 202
        assert wait_done(api, many.json()["async_action_id"])["status"] == "DONE"
        listed = api.get("/v1/vouchers", params={"campaign_id": campaign["id"]}).json()
        assert (listed["object"], listed["data_ref"], listed["total"]) == ("list", "vouchers", 6)
        duplicate = api.post(f"/v1/campaigns/{campaign['id']}/vouchers/MY-CODE-1")
        assert_error(duplicate, 409, "duplicate_found")

    def test_update_enable_disable(self, api):
        campaign = create_campaign(api, expiration_date="2090-01-01T00:00:00Z")

        updated = api.put(
            f"/v1/campaigns/{campaign['id']}", json={"expiration_date": None, "description": "d"}
        ).json()
        disabled = api.post(f"/v1/campaigns/{campaign['id']}/disable").json()

        assert (updated["expiration_date"], updated["description"]) == (None, "d")
        assert disabled["active"] is False
        assert api.post(f"/v1/campaigns/{campaign['id']}/enable").json()["active"] is True

    def test_delete_takes_the_vouchers_and_the_holdings(self, api):
        campaign = create_campaign(
            api,
            campaign_type="GIFT_VOUCHERS",
            voucher={"type": "GIFT_VOUCHER", "gift": {"amount": 700}},
        )
        code = api.post(f"/v1/campaigns/{campaign['id']}/vouchers").json()["code"]
        customer = create_customer(api)
        publish(api, {"id": customer["id"]}, voucher=code)
        gift = api.get(f"/v1/customers/{customer['id']}").json()["summary"]["redemptions"]["gift"]
        assert gift["amount_to_go"] == 700

        assert api.delete(f"/v1/campaigns/{campaign['id']}").status_code == 202

        assert_error(api.get(f"/v1/campaigns/{campaign['id']}"), 404, "not_found")
        assert_error(api.get(f"/v1/vouchers/{code}"), 404, "not_found")
        gift = api.get(f"/v1/customers/{customer['id']}").json()["summary"]["redemptions"]["gift"]
        assert gift["amount_to_go"] == 0

    def test_another_project_gets_404_and_changes_nothing(self, api, other_api):
        campaign = create_campaign(api)
        path = f"/v1/campaigns/{campaign['id']}"

        assert_error(other_api.put(path, json={"description": "x"}), 404, "not_found")
        assert_error(other_api.delete(path), 404, "not_found")
        assert_error(other_api.post(f"{path}/disable"), 404, "not_found")
        assert_error(other_api.post(f"{path}/vouchers"), 404, "not_found")
        assert_error(other_api.post(f"{path}/vouchers/X1"), 404, "not_found")
        assert other_api.get("/v1/vouchers").json()["total"] == 0
        assert api.get(path).json()["active"] is True
        assert api.get("/v1/vouchers", params={"campaign_id": campaign["id"]}).json()["total"] == 0

    @pytest.mark.parametrize(
        ("method", "suffix", "kwargs"),
        [
            ("put", "", {"json": {"expiration_date": "soon"}}),
            ("put", "", {"json": {"active": "yes"}}),
            ("post", "/vouchers", {"params": {"vouchers_count": "0"}}),
            ("post", "/vouchers", {"params": {"vouchers_count": "many"}}),
        ],
    )
    def test_bad_input_is_a_400(self, api, method, suffix, kwargs):
        campaign = create_campaign(api)
        response = api.request(method.upper(), f"/v1/campaigns/{campaign['id']}{suffix}", **kwargs)
        assert response.status_code == 400, response.text
        assert api.get("/v1/vouchers", params={"campaign_id": campaign["id"]}).json()["total"] == 0


class TestBalances:
    def test_loyalty_points_move_the_card_and_its_holder(self, api):
        campaign = create_campaign(
            api,
            campaign_type="LOYALTY_PROGRAM",
            voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 1000}},
        )
        customer = create_customer(api)
        card = api.post(
            f"/v1/loyalties/{campaign['id']}/members", json={"customer": {"id": customer["id"]}}
        ).json()["code"]

        added = api.post(f"/v1/loyalties/members/{card}/balance", json={"points": 10000})
        taken = api.post(
            f"/v1/loyalties/{campaign['id']}/members/{card}/balance", json={"points": -500}
        )

        assert added.status_code == 200, added.text
        assert added.json()["balance"] == 11000
        assert (added.json()["object"], added.json()["type"]) == ("balance", "loyalty_card")
        assert taken.json()["balance"] == 10500
        assert api.get(f"/v1/customers/{customer['id']}").json()["loyalty"]["points"] == 10500
        member = api.get(f"/v1/loyalties/{campaign['id']}/members/{card}").json()
        assert member["loyalty_card"]["balance"] == 10500
        assert api.get(f"/v1/loyalties/members/{card}").json()["code"] == card

    def test_members_of_another_campaign_or_project_are_404(self, api, other_api):
        campaign = create_campaign(
            api,
            campaign_type="LOYALTY_PROGRAM",
            voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 10}},
        )
        other = create_campaign(api)
        customer = create_customer(api)
        card = api.post(
            f"/v1/loyalties/{campaign['id']}/members", json={"customer": {"id": customer["id"]}}
        ).json()["code"]
        discount = create_voucher(api)["code"]

        assert_error(api.get(f"/v1/loyalties/{other['id']}/members/{card}"), 404, "not_found")
        assert_error(api.get(f"/v1/loyalties/members/{discount}"), 404, "not_found")
        assert_error(other_api.get(f"/v1/loyalties/members/{card}"), 404, "not_found")

    def test_a_gift_card_balance(self, api):
        code = create_voucher(api, type="GIFT_VOUCHER", gift={"amount": 100}, discount=None)["code"]

        response = api.post(f"/v1/vouchers/{code}/balance", json={"amount": 50})

        assert response.json()["balance"] == 150
        assert api.get(f"/v1/vouchers/{code}").json()["gift"]["balance"] == 150

    @pytest.mark.parametrize(
        "body", [{"points": -5000}, {"points": "x"}, {}, {"amount": 10}, {"points": 10**19}]
    )
    def test_bad_changes_are_400(self, api, body):
        code = api.post(
            "/v1/vouchers", json={"type": "LOYALTY_CARD", "loyalty_card": {"points": 100}}
        ).json()["code"]

        assert_error(
            api.post(f"/v1/loyalties/members/{code}/balance", json=body), 400, "invalid_payload"
        )
        assert api.get(f"/v1/vouchers/{code}").json()["loyalty_card"]["balance"] == 100

    def test_another_projects_card_is_a_404(self, api, other_api):
        code = api.post(
            "/v1/vouchers", json={"type": "LOYALTY_CARD", "loyalty_card": {"points": 100}}
        ).json()["code"]
        response = other_api.post(f"/v1/loyalties/members/{code}/balance", json={"points": 1})
        assert_error(response, 404, "not_found")
        assert api.get(f"/v1/vouchers/{code}").json()["loyalty_card"]["balance"] == 100


class TestLoyaltyPrograms:
    def test_create_and_list(self, api, other_api):
        made = api.post(
            "/v1/loyalties",
            json={
                "name": "Points",
                "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 5}},
            },
        )
        create_campaign(api)  # a discount campaign: not a loyalty program

        assert made.status_code == 200, made.text
        assert made.json()["campaign_type"] == "LOYALTY_PROGRAM"
        listed = api.get("/v1/loyalties").json()
        assert [c["id"] for c in listed["campaigns"]] == [made.json()["id"]]
        assert other_api.get("/v1/loyalties").json()["campaigns"] == []
        assert_error(api.post("/v1/loyalties", json={"name": 5}), 400, "invalid_payload")
