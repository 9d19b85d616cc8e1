"""/v1/validations and /v1/redemptions over HTTP on both databases (issue 17): stackable
discount and gift vouchers against an order; what moves with a redemption (voucher
counters and balance, the order, summary.redemptions, events, redeemable statuses)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import httpx
import pytest

from tests.factories import (
    create_campaign,
    create_customer,
    create_voucher,
    db_fetch,
    publish,
    redeemables,
)
from tests.helpers import assert_error


def code() -> str:
    return "C-" + secrets.token_hex(5)


def discount_voucher(api: httpx.Client, discount: dict[str, Any], **extra: Any) -> str:
    return create_voucher(api, code=code(), discount=discount, **extra)["code"]


def gift_card(api: httpx.Client, amount: int, **extra: Any) -> str:
    return create_voucher(
        api, code=code(), type="GIFT_VOUCHER", gift={"amount": amount}, discount=None, **extra
    )["code"]


def redeem(api: httpx.Client, codes: list[str], **body: Any) -> httpx.Response:
    items = [{"object": "voucher", "id": c} for c in codes]
    return api.post("/v1/redemptions", json={"redeemables": items, **body})


def summary(api: httpx.Client, ref: str) -> dict[str, Any]:
    return api.get(f"/v1/customers/{ref}").json()["summary"]


def count_rows(server, project, table: str) -> int:
    return db_fetch(
        server.backend.url, f"SELECT COUNT(*) AS n FROM {table} WHERE project_id = $1", project.id
    )[0]["n"]


class TestValidate:
    def test_stacked_discounts_apply_in_order(self, api: httpx.Client):
        amount_off = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1000})
        percent = discount_voucher(api, {"type": "PERCENT", "percent_off": 10, "amount_limit": 500})
        body = {
            "redeemables": [{"object": "voucher", "id": c} for c in (amount_off, percent)],
            "order": {"amount": 20000},
            "customer": {"source_id": "validator"},
        }

        response = api.post("/v1/validations", json=body)

        assert response.status_code == 200, response.text
        result = response.json()
        assert result["valid"] is True
        assert [r["status"] for r in result["redeemables"]] == ["APPLICABLE", "APPLICABLE"]
        assert result["order"]["discount_amount"] == 1500  # 1000, then 10% of 19000 capped at 500
        assert result["order"]["total_amount"] == 18500
        assert result["stacking_rules"]["redeemables_application_mode"] == "ALL"
        assert result["id"].startswith("valid_")

    def test_validation_writes_nothing(self, server, api: httpx.Client, project):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        body = {
            "redeemables": [{"object": "voucher", "id": voucher}],
            "order": {"amount": 100},
            "customer": {"source_id": "nobody-yet"},
        }

        assert api.post("/v1/validations", json=body).json()["valid"] is True

        assert count_rows(server, project, "orders") == 0
        assert count_rows(server, project, "redemption") == 0
        assert api.get("/v1/customers/nobody-yet").status_code == 404

    def test_an_unusable_voucher_is_inapplicable(self, api: httpx.Client):
        good = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        disabled = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10}, active=False)
        body = {
            "redeemables": [{"object": "voucher", "id": c} for c in (good, disabled, "missing")],
            "order": {"amount": 100},
        }

        result = api.post("/v1/validations", json=body).json()

        assert result["valid"] is False
        statuses = [(r["id"], r["status"]) for r in result["redeemables"]]
        assert statuses == [
            (good, "APPLICABLE"),
            (disabled, "INAPPLICABLE"),
            ("missing", "INAPPLICABLE"),
        ]
        keys = [r["result"]["error"]["key"] for r in result["inapplicable_redeemables"]]
        assert keys == ["voucher_disabled", "not_found"]

    @pytest.mark.parametrize(
        "body",
        [
            {"redeemables": []},
            {"redeemables": "x"},
            {"redeemables": [{"object": "voucher"}]},
            {"redeemables": [{"object": "promotion_tier", "id": "promo_1"}]},
            {"redeemables": [{"object": "voucher", "id": "A"}, {"object": "voucher", "id": "A"}]},
            {"redeemables": [{"object": "voucher", "id": "A"}], "order": {"amount": -5}},
            {"redeemables": [{"object": "voucher", "id": "A", "gift": {"credits": 10**19}}]},
            {"redeemables": [{"object": "voucher", "id": "A", "reward": {"points": -1}}]},
            {"redeemables": [{"object": "voucher", "id": "A" * 600}]},
            {"redeemables": [{"object": "voucher", "id": "A"}], "tracking_id": "t" * 2000},
        ],
    )
    def test_bad_bodies_are_400(self, api: httpx.Client, body):
        assert_error(api.post("/v1/validations", json=body), 400, "invalid_payload")


class TestRedeem:
    def test_a_discount_redemption_moves_everything_together(self, api: httpx.Client):
        customer = create_customer(api)
        voucher = discount_voucher(
            api, {"type": "AMOUNT", "amount_off": 1000}, redemption={"quantity": 1}
        )
        publish(api, {"id": customer["id"]}, voucher=voucher)

        response = redeem(
            api,
            [voucher],
            customer={"id": customer["id"]},
            order={"amount": 30000},
            metadata={"key": "value"},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        (redemption,) = body["redemptions"]
        assert (redemption["result"], redemption["status"]) == ("SUCCESS", "SUCCEEDED")
        assert redemption["object"] == "redemption"
        assert redemption["amount"] == 1000
        assert redemption["metadata"] == {"key": "value"}
        assert redemption["voucher"]["code"] == voucher
        assert "parent_redemption" not in body
        order = body["order"]
        assert (order["amount"], order["discount_amount"], order["total_amount"]) == (
            30000,
            1000,
            29000,
        )
        assert order["status"] == "PAID"
        assert api.get(f"/v1/redemptions/{redemption['id']}").json()["id"] == redemption["id"]
        stored = api.get(f"/v1/vouchers/{voucher}").json()
        assert stored["redemption"]["redeemed_quantity"] == 1
        counted = summary(api, customer["id"])
        assert counted["redemptions"]["total_redeemed"] == 1
        assert counted["redemptions"]["total_succeeded"] == 1
        assert counted["orders"]["total_amount"] == 29000
        statuses = [r["redeemable"]["status"] for r in redeemables(api, customer["id"])["data"]]
        assert statuses == ["USED"]
        events = api.get(f"/v1/customers/{customer['id']}/activity").json()["data"]
        assert "customer.redemption.succeeded" in {e["type"] for e in events}

    def test_stacked_redemption_has_a_parent(self, api: httpx.Client):
        a = discount_voucher(api, {"type": "AMOUNT", "amount_off": 100})
        b = discount_voucher(api, {"type": "AMOUNT", "amount_off": 200})

        body = redeem(api, [a, b], customer={"source_id": "stacker"}, order={"amount": 1000}).json()

        assert len(body["redemptions"]) == 2
        parent = body["parent_redemption"]
        assert parent["related_object_type"] == "redemption"
        assert {r["redemption"] for r in body["redemptions"]} == {parent["id"]}
        assert body["order"]["total_amount"] == 700
        assert summary(api, "stacker")["redemptions"]["total_redeemed"] == 2

    def test_a_gift_card_pays_up_to_its_balance(self, api: httpx.Client):
        customer = create_customer(api)
        card = gift_card(api, 5000)
        publish(api, {"id": customer["id"]}, voucher=card)

        body = redeem(api, [card], customer={"id": customer["id"]}, order={"amount": 3000}).json()

        (redemption,) = body["redemptions"]
        assert redemption["gift"] == {"amount": 3000}
        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 2000
        gift = summary(api, customer["id"])["redemptions"]["gift"]
        assert gift == {"redeemed_amount": 3000, "amount_to_go": 2000}

        redeem(api, [card], customer={"id": customer["id"]}, order={"amount": 9000})

        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 0
        statuses = [r["redeemable"]["status"] for r in redeemables(api, customer["id"])["data"]]
        assert statuses == ["NO_BALANCE"]

    def test_asking_more_credits_than_the_balance_fails(self, api: httpx.Client):
        card = gift_card(api, 100)
        response = api.post(
            "/v1/redemptions",
            json={
                "redeemables": [{"object": "voucher", "id": card, "gift": {"credits": 500}}],
                "order": {"amount": 1000},
                "customer": {"source_id": "greedy"},
            },
        )

        assert_error(response, 400, "gift_amount_exceeded")
        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 100

    def test_a_used_voucher_fails_and_the_failure_is_counted(
        self, server, api: httpx.Client, project
    ):
        voucher = discount_voucher(
            api, {"type": "AMOUNT", "amount_off": 10}, redemption={"quantity": 1}
        )
        ok = redeem(api, [voucher], customer={"source_id": "late"}, order={"amount": 100})
        assert ok.status_code == 200, ok.text

        failed = redeem(api, [voucher], customer={"source_id": "late"}, order={"amount": 100})

        assert_error(failed, 400, "quantity_exceeded")
        counts = summary(api, "late")["redemptions"]
        assert (counts["total_redeemed"], counts["total_succeeded"], counts["total_failed"]) == (
            2,
            1,
            1,
        )
        assert count_rows(server, project, "orders") == 1  # the failed one stored no order
        assert api.get(f"/v1/vouchers/{voucher}").json()["redemption"]["redeemed_quantity"] == 1

    def test_one_bad_redeemable_applies_none(self, api: httpx.Client):
        good = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        expired = discount_voucher(
            api, {"type": "AMOUNT", "amount_off": 10}, expiration_date="2020-01-01T00:00:00Z"
        )

        response = redeem(
            api, [good, expired], customer={"source_id": "mixed"}, order={"amount": 50}
        )

        assert_error(response, 400, "voucher_expired")
        assert api.get(f"/v1/vouchers/{good}").json()["redemption"]["redeemed_quantity"] == 0

    def test_a_disabled_campaigns_voucher_fails(self, api: httpx.Client):
        campaign = create_campaign(api)
        voucher = api.post(f"/v1/campaigns/{campaign['id']}/vouchers").json()["code"]
        api.post(f"/v1/campaigns/{campaign['id']}/disable")

        assert_error(redeem(api, [voucher], order={"amount": 50}), 400, "campaign_disabled")

        api.post(f"/v1/campaigns/{campaign['id']}/enable")
        assert redeem(api, [voucher], order={"amount": 50}).status_code == 200

    def test_an_unknown_voucher_is_a_404(self, server, api: httpx.Client, project):
        assert_error(redeem(api, ["nope"], order={"amount": 5}), 404, "not_found")
        assert count_rows(server, project, "redemption") == 0

    def test_another_projects_voucher_and_redemption_are_invisible(
        self, api: httpx.Client, other_api: httpx.Client
    ):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 10})
        redemption = redeem(api, [voucher], order={"amount": 50}).json()["redemptions"][0]

        assert_error(redeem(other_api, [voucher], order={"amount": 50}), 404, "not_found")
        assert_error(other_api.get(f"/v1/redemptions/{redemption['id']}"), 404, "not_found")
        validation = other_api.post(
            "/v1/validations", json={"redeemables": [{"object": "voucher", "id": voucher}]}
        ).json()
        assert validation["valid"] is False

    def test_unknown_redemption_is_a_404(self, api: httpx.Client):
        assert_error(api.get("/v1/redemptions/r_missing"), 404, "not_found")

    def test_two_concurrent_redemptions_of_the_last_use_one_wins(self, server, project):
        headers = project.headers
        with httpx.Client(base_url=server.base_url, headers=headers) as setup:
            voucher = discount_voucher(
                setup, {"type": "AMOUNT", "amount_off": 10}, redemption={"quantity": 1}
            )
        statuses: list[int] = []

        def attempt(i: int) -> None:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
                response = redeem(
                    client, [voucher], customer={"source_id": f"racer-{i}"}, order={"amount": 100}
                )
                statuses.append(response.status_code)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [200, 400, 400, 400]
