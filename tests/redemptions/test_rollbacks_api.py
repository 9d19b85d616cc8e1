"""Rollbacks, loyalty points and the redemptions list over HTTP on both databases (#17)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import create_campaign, create_customer, publish, wait_done
from tests.helpers import assert_error
from tests.redemptions.test_redemptions_api import (
    discount_voucher,
    gift_card,
    redeem,
    summary,
)


def redeemed(api: httpx.Client, codes: list[str], **body: Any) -> dict[str, Any]:
    response = redeem(api, codes, **body)
    assert response.status_code == 200, response.text
    return response.json()


class TestRollback:
    def test_a_gift_rollback_returns_the_credits(self, api: httpx.Client):
        customer = create_customer(api)
        card = gift_card(api, 5000)
        publish(api, {"id": customer["id"]}, voucher=card)
        body = redeemed(api, [card], customer={"id": customer["id"]}, order={"amount": 2000})
        redemption_id = body["redemptions"][0]["id"]

        response = api.post(f"/v1/redemptions/{redemption_id}/rollback", params={"reason": "oops"})

        assert response.status_code == 200, response.text
        rollback = response.json()
        assert rollback["object"] == "redemption_rollback"
        assert (rollback["result"], rollback["status"], rollback["reason"]) == (
            "SUCCESS",
            "SUCCEEDED",
            "oops",
        )
        assert rollback["redemption"] == redemption_id
        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 5000
        assert api.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "ROLLED_BACK"
        counts = summary(api, customer["id"])["redemptions"]
        assert counts["total_rolled_back"] == 1
        assert counts["total_rollback_succeeded"] == 1
        assert counts["gift"] == {"redeemed_amount": 0, "amount_to_go": 5000}
        order = api.get(f"/v1/orders/{body['order']['id']}").json()
        assert order["total_amount"] == 2000

    def test_a_second_rollback_fails_and_is_counted(self, api: httpx.Client):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        body = redeemed(api, [voucher], customer={"source_id": "twice"}, order={"amount": 100})
        redemption_id = body["redemptions"][0]["id"]
        assert api.post(f"/v1/redemptions/{redemption_id}/rollback").status_code == 200

        again = api.post(f"/v1/redemptions/{redemption_id}/rollback")

        assert_error(again, 400, "already_rolled_back")
        counts = summary(api, "twice")["redemptions"]
        assert (counts["total_rollback_succeeded"], counts["total_rollback_failed"]) == (1, 1)

    def test_a_rollback_frees_a_used_voucher(self, api: httpx.Client):
        voucher = discount_voucher(
            api, {"type": "AMOUNT", "amount_off": 10}, redemption={"quantity": 1}
        )
        body = redeemed(api, [voucher], order={"amount": 100})
        api.post(f"/v1/redemptions/{body['redemptions'][0]['id']}/rollback")

        assert redeem(api, [voucher], order={"amount": 100}).status_code == 200

    def test_stacked_rollbacks_undo_every_child(self, api: httpx.Client):
        a = discount_voucher(api, {"type": "AMOUNT", "amount_off": 100})
        card = gift_card(api, 300)
        body = redeemed(api, [a, card], customer={"source_id": "stack-rb"}, order={"amount": 1000})
        parent = body["parent_redemption"]["id"]

        response = api.post(f"/v1/redemptions/{parent}/rollbacks")

        assert response.status_code == 200, response.text
        result = response.json()
        assert len(result["rollbacks"]) == 2
        assert result["parent_rollback"]["redemption"] == parent
        assert result["order"]["total_amount"] == 1000
        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 300

    def test_unknown_and_foreign_redemptions_are_404(
        self, api: httpx.Client, other_api: httpx.Client
    ):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        body = redeemed(api, [voucher], order={"amount": 100})
        redemption_id = body["redemptions"][0]["id"]

        assert_error(api.post("/v1/redemptions/r_missing/rollback"), 404, "not_found")
        assert_error(other_api.post(f"/v1/redemptions/{redemption_id}/rollback"), 404, "not_found")
        assert_error(other_api.post(f"/v1/redemptions/{redemption_id}/rollbacks"), 404, "not_found")
        assert api.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "SUCCEEDED"

    def test_a_bad_body_is_a_400_and_changes_nothing(self, api: httpx.Client):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        redemption_id = redeemed(api, [voucher], order={"amount": 100})["redemptions"][0]["id"]

        response = api.post(f"/v1/redemptions/{redemption_id}/rollback", json={"reason": 5})

        assert_error(response, 400, "invalid_payload")
        assert api.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "SUCCEEDED"


class TestLoyalty:
    def test_points_redeemed_and_rolled_back_move_the_card_and_the_customer(
        self, api: httpx.Client
    ):
        campaign = create_campaign(
            api,
            campaign_type="LOYALTY_PROGRAM",
            vouchers_count=1,
            voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 1000}},
        )
        if campaign.get("async_action_id"):
            wait_done(api, campaign["async_action_id"])
        customer = create_customer(api)
        member = api.post(
            f"/v1/loyalties/{campaign['id']}/members", json={"customer": {"id": customer["id"]}}
        )
        assert member.status_code == 200, member.text
        card = member.json()["code"]

        response = api.post(
            "/v1/redemptions",
            json={
                "redeemables": [{"object": "voucher", "id": card, "reward": {"points": 300}}],
                "customer": {"id": customer["id"]},
                "order": {"amount": 1000},
            },
        )

        assert response.status_code == 200, response.text
        redemption = response.json()["redemptions"][0]
        assert redemption["loyalty_card"] == {"points": 300}
        after = api.get(f"/v1/customers/{customer['id']}").json()
        assert after["loyalty"]["points"] == 700
        assert after["summary"]["redemptions"]["loyalty_card"] == {
            "redeemed_points": 300,
            "points_to_go": 700,
        }

        api.post(f"/v1/redemptions/{redemption['id']}/rollback")

        assert api.get(f"/v1/customers/{customer['id']}").json()["loyalty"]["points"] == 1000

    def test_more_points_than_the_card_holds_fail(self, api: httpx.Client):
        card = api.post(
            "/v1/vouchers",
            json={"type": "LOYALTY_CARD", "loyalty_card": {"points": 50}},
        ).json()["code"]

        response = api.post(
            "/v1/redemptions",
            json={
                "redeemables": [{"object": "voucher", "id": card, "reward": {"points": 80}}],
                "order": {"amount": 10},
            },
        )

        assert_error(response, 400, "loyalty_card_points_exceeded")


class TestList:
    def test_filters_and_paging(self, api: httpx.Client):
        a = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})
        b = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})
        first = redeemed(api, [a], customer={"source_id": "lister"}, order={"amount": 10})
        redeemed(api, [b], order={"amount": 10})
        first_id = first["redemptions"][0]["id"]

        everything = api.get("/v1/redemptions").json()
        by_customer = api.get("/v1/redemptions", params={"customer": "lister"}).json()
        not_a = api.get(
            "/v1/redemptions", params={"filters[voucher_code][conditions][$is_not]": a}
        ).json()
        oldest = api.get("/v1/redemptions", params={"order": "created_at", "limit": 1}).json()

        assert (everything["object"], everything["data_ref"], everything["total"]) == (
            "list",
            "redemptions",
            2,
        )
        assert [r["id"] for r in by_customer["redemptions"]] == [first_id]
        assert [r["voucher"]["code"] for r in not_a["redemptions"]] == [b]
        assert oldest["redemptions"][0]["id"] == first_id

    def test_another_project_sees_none(self, api: httpx.Client, other_api: httpx.Client):
        redeemed(api, [discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})])
        assert other_api.get("/v1/redemptions").json()["total"] == 0

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": "0"},
            {"page": "100"},
            {"order": "amount"},
            {"filters[nope][conditions][$is]": "x"},
            {"filters[result][conditions][$like]": "x"},
            {"created_at[before]": "yesterday"},
        ],
    )
    def test_bad_parameters_are_a_400(self, api: httpx.Client, params):
        assert_error(api.get("/v1/redemptions", params=params), 400, "invalid_query_params")
