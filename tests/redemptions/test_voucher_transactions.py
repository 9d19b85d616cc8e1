"""GET /v1/vouchers/{code}/transactions on both databases (#17): every change of a gift card's
credits or a loyalty card's points (redemption, rollback, balance call) lists as a transaction,
newest first, with the balance after it; paging; 404s; bad query; erasure of the person."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.factories import create_campaign, create_customer, publish, wait_done
from tests.helpers import assert_error
from tests.redemptions.test_redemptions_api import discount_voucher, gift_card, redeem


def transactions(api: httpx.Client, code: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/vouchers/{code}/transactions", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["object"], body["data_ref"]) == ("list", "data")
    return body


def redeemed_id(api: httpx.Client, code: str, **body: Any) -> str:
    response = redeem(api, [code], **body)
    assert response.status_code == 200, response.text
    return response.json()["redemptions"][0]["id"]


def rollback_id(api: httpx.Client, redemption_id: str) -> str:
    response = api.post(f"/v1/redemptions/{redemption_id}/rollback")
    assert response.status_code == 200, response.text
    return response.json()["id"]


def loyalty_card(api: httpx.Client, points: int) -> tuple[str, str]:
    """(card code, customer id): a loyalty program member's card."""
    campaign = create_campaign(
        api,
        campaign_type="LOYALTY_PROGRAM",
        vouchers_count=1,
        voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": points}},
    )
    if campaign.get("async_action_id"):
        wait_done(api, campaign["async_action_id"])
    customer = create_customer(api)
    member = api.post(
        f"/v1/loyalties/{campaign['id']}/members", json={"customer": {"id": customer["id"]}}
    )
    assert member.status_code == 200, member.text
    return member.json()["code"], customer["id"]


class TestGiftCard:
    def test_redeemed_rolled_back_and_topped_up(self, api: httpx.Client):
        customer = create_customer(api)
        card = gift_card(api, 5000)
        publish(api, {"id": customer["id"]}, voucher=card)
        voucher = api.get(f"/v1/vouchers/{card}").json()
        redemption = redeemed_id(api, card, customer={"id": customer["id"]}, order={"amount": 2000})
        rollback = rollback_id(api, redemption)
        topped = api.post(
            f"/v1/vouchers/{card}/balance",
            json={"amount": 700, "source_id": "top-up-1", "reason": "birthday"},
        )
        assert topped.status_code == 200, topped.text

        body = transactions(api, card)

        assert body["has_more"] is False
        data = body["data"]
        assert [t["type"] for t in data] == [
            "CREDITS_ADDITION",
            "CREDITS_REFUND",
            "CREDITS_REDEMPTION",
        ]
        assert [t["details"]["balance"]["amount"] for t in data] == [700, 2000, -2000]
        assert [t["details"]["balance"]["balance"] for t in data] == [5700, 5000, 3000]
        assert [t["details"]["balance"]["total"] for t in data] == [5700, 5000, 5000]
        added, refund, taken = data
        assert (added["source_id"], added["source"], added["reason"]) == (
            "top-up-1",
            "API",
            "birthday",
        )
        assert (taken["source_id"], taken["source"], taken["reason"]) == (None, None, None)
        assert taken["details"]["redemption"] == {"id": redemption}
        assert refund["details"]["redemption"] == {"id": redemption}
        assert refund["details"]["rollback"] == {"id": rollback}
        for t in data:
            assert t["id"].startswith("vtx_")
            assert t["voucher_id"] == voucher["id"]
            assert t["campaign_id"] == voucher["campaign_id"]
            assert t["related_transaction_id"] is None
            assert t["created_at"].endswith("Z")
            assert t["details"]["balance"]["type"] == "gift_voucher"
            assert t["details"]["balance"]["object"] == "balance"
            assert t["details"]["balance"]["related_object"] == {
                "id": voucher["id"],
                "type": "voucher",
            }
        # By id as well as by code; `order=id` is oldest first.
        assert transactions(api, voucher["id"])["data"] == data
        assert transactions(api, card, order="id")["data"] == data[::-1]

    def test_a_removal_and_a_refused_change(self, api: httpx.Client):
        card = gift_card(api, 1000)
        assert api.post(f"/v1/vouchers/{card}/balance", json={"amount": -400}).status_code == 200
        refused = api.post(f"/v1/vouchers/{card}/balance", json={"amount": -5000})
        assert_error(refused, 400, "invalid_payload")
        failed = redeem(
            api,
            [],
            redeemables=[{"object": "voucher", "id": card, "gift": {"credits": 9000}}],
            order={"amount": 9000},
        )
        assert failed.status_code == 400

        (removal,) = transactions(api, card)["data"]

        assert removal["type"] == "CREDITS_REMOVAL"
        assert removal["details"]["balance"]["amount"] == -400
        assert removal["details"]["balance"]["balance"] == 600

    def test_a_new_amount_by_put_lists_as_its_change(self, api: httpx.Client):
        card = gift_card(api, 1000)
        raised = api.put(f"/v1/vouchers/{card}", json={"gift": {"amount": 1500}})
        assert raised.status_code == 200, raised.text
        lowered = api.put(f"/v1/vouchers/{card}", json={"gift": {"amount": 1200}})
        assert lowered.status_code == 200, lowered.text

        removal, addition = transactions(api, card)["data"]

        assert (addition["type"], removal["type"]) == ("CREDITS_ADDITION", "CREDITS_REMOVAL")
        assert addition["details"]["balance"]["amount"] == 500
        assert addition["details"]["balance"]["balance"] == 1500
        assert removal["details"]["balance"]["amount"] == -300
        assert removal["details"]["balance"]["balance"] == 1200

    def test_a_discount_voucher_has_none(self, api: httpx.Client):
        code = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        redeemed_id(api, code, order={"amount": 100})
        assert transactions(api, code)["data"] == []


class TestLoyaltyCard:
    def test_points_redeemed_rolled_back_added_and_removed(self, api: httpx.Client):
        card, customer_id = loyalty_card(api, 1000)
        response = api.post(
            "/v1/redemptions",
            json={
                "redeemables": [{"object": "voucher", "id": card, "reward": {"points": 300}}],
                "customer": {"id": customer_id},
                "order": {"amount": 1000},
            },
        )
        assert response.status_code == 200, response.text
        redemption = response.json()["redemptions"][0]["id"]
        rollback = rollback_id(api, redemption)
        added = api.post(f"/v1/loyalties/members/{card}/balance", json={"points": 50})
        assert added.status_code == 200, added.text
        removed = api.post(f"/v1/vouchers/{card}/balance", json={"points": -20})
        assert removed.status_code == 200, removed.text

        data = transactions(api, card)["data"]

        assert [t["type"] for t in data] == [
            "POINTS_REMOVAL",
            "POINTS_ADDITION",
            "POINTS_REFUND",
            "POINTS_REDEMPTION",
        ]
        assert [t["details"]["balance"]["points"] for t in data] == [-20, 50, 300, -300]
        assert [t["details"]["balance"]["balance"] for t in data] == [1030, 1050, 1000, 700]
        assert [t["details"]["balance"]["total"] for t in data] == [1030, 1050, 1000, 1000]
        assert all(t["details"]["balance"]["type"] == "loyalty_card" for t in data)
        assert all("amount" not in t["details"]["balance"] for t in data)
        assert data[3]["details"]["redemption"] == {"id": redemption}
        assert data[2]["details"]["rollback"] == {"id": rollback}


class TestPaging:
    def test_new_points_by_put_list_as_their_change(self, api: httpx.Client):
        card, _ = loyalty_card(api, 100)
        changed = api.put(f"/v1/vouchers/{card}", json={"loyalty_card": {"points": 250}})
        assert changed.status_code == 200, changed.text

        (addition,) = transactions(api, card)["data"]

        assert addition["type"] == "POINTS_ADDITION"
        assert addition["details"]["balance"]["points"] == 150
        assert addition["details"]["balance"]["balance"] == 250

    def test_pages_follow_the_cursor(self, api: httpx.Client):
        card = gift_card(api, 100)
        for amount in range(1, 6):
            assert api.post(f"/v1/vouchers/{card}/balance", json={"amount": amount}).is_success
        everything = transactions(api, card, limit=100)["data"]
        assert [t["details"]["balance"]["amount"] for t in everything] == [5, 4, 3, 2, 1]

        first = transactions(api, card, limit=2)
        assert first["has_more"] is True
        assert first["more_starting_after"] == first["data"][-1]["id"]
        second = transactions(api, card, limit=2, starting_after_id=first["more_starting_after"])
        third = transactions(api, card, limit=2, starting_after_id=second["more_starting_after"])

        assert [t["id"] for t in first["data"] + second["data"] + third["data"]] == [
            t["id"] for t in everything
        ]
        assert third["has_more"] is False
        assert "more_starting_after" not in third
        ascending = transactions(api, card, order="id", limit=3)
        assert [t["details"]["balance"]["amount"] for t in ascending["data"]] == [1, 2, 3]
        rest = transactions(
            api, card, order="id", starting_after_id=ascending["more_starting_after"]
        )
        assert [t["details"]["balance"]["amount"] for t in rest["data"]] == [4, 5]


class TestErrors:
    def test_unknown_code_is_404(self, api: httpx.Client):
        assert_error(api.get("/v1/vouchers/NO-SUCH-CARD/transactions"), 404, "not_found")

    def test_another_projects_card_is_404(self, api: httpx.Client, other_api: httpx.Client):
        card = gift_card(api, 100)
        api.post(f"/v1/vouchers/{card}/balance", json={"amount": 5})
        assert_error(other_api.get(f"/v1/vouchers/{card}/transactions"), 404, "not_found")

    @pytest.mark.parametrize("limit", ["0", "101", "x", "-1"])
    def test_bad_limit_is_400(self, api: httpx.Client, limit: str):
        card = gift_card(api, 100)
        response = api.get(f"/v1/vouchers/{card}/transactions", params={"limit": limit})
        assert_error(response, 400, "invalid_query_params")

    def test_bad_order_is_400(self, api: httpx.Client):
        card = gift_card(api, 100)
        response = api.get(f"/v1/vouchers/{card}/transactions", params={"order": "created_at"})
        assert_error(response, 400, "invalid_query_params")


class TestErasure:
    def test_the_person_leaves_the_transactions_and_the_rest_stays(self, api: httpx.Client):
        customer = create_customer(api, source_id="tx-erase-" + secrets.token_hex(5))
        card = gift_card(api, 1000)
        publish(api, {"id": customer["id"]}, voucher=card)
        redeemed_id(api, card, customer={"id": customer["id"]}, order={"amount": 100})
        api.post(
            f"/v1/vouchers/{card}/balance",
            json={"amount": 10, "source_id": customer["source_id"], "reason": customer["id"]},
        )
        api.post(f"/v1/vouchers/{card}/balance", json={"amount": 1, "reason": "kept"})

        erased = api.post(f"/v1/customers/{customer['id']}/permanent-deletion")
        assert erased.status_code == 200, erased.text

        data = transactions(api, card)["data"]
        assert [t["type"] for t in data] == [
            "CREDITS_ADDITION",
            "CREDITS_ADDITION",
            "CREDITS_REDEMPTION",
        ]
        assert [(t["source_id"], t["reason"]) for t in data] == [
            (None, "kept"),
            (None, None),
            (None, None),
        ]
        assert [t["details"]["balance"]["balance"] for t in data] == [911, 910, 900]
