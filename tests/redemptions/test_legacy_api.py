"""POST /v1/vouchers/{code}/validate and /v1/vouchers/{code}/redemption (the single-voucher
forms) over HTTP on both databases (#17)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.factories import create_voucher
from tests.helpers import assert_error
from tests.redemptions.test_redemptions_api import discount_voucher, gift_card, summary


class TestValidate:
    def test_a_valid_voucher(self, api: httpx.Client):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 300})

        response = api.post(f"/v1/vouchers/{voucher}/validate", json={"order": {"amount": 1000}})

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["valid"], body["code"]) == (True, voucher)
        assert body["discount"] == {"type": "AMOUNT", "amount_off": 300}
        assert body["order"]["total_amount"] == 700

    def test_an_invalid_voucher_says_why(self, api: httpx.Client):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1}, active=False)

        body = api.post(f"/v1/vouchers/{voucher}/validate", json={}).json()

        assert body["valid"] is False
        assert body["error"]["key"] == "voucher_disabled"

    def test_a_code_with_a_slash(self, api: httpx.Client):
        voucher = create_voucher(
            api, code="A/B-" + "x", discount={"type": "AMOUNT", "amount_off": 1}
        )
        response = api.post(f"/v1/vouchers/{quote(voucher['code'], safe='')}/validate", json={})
        assert response.json()["valid"] is True

    def test_unknown_and_foreign_vouchers_are_404(self, api, other_api):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})
        assert_error(api.post("/v1/vouchers/NOPE/validate", json={}), 404, "not_found")
        assert_error(other_api.post(f"/v1/vouchers/{voucher}/validate", json={}), 404, "not_found")


class TestRedeem:
    def test_a_gift_card_redemption(self, api: httpx.Client):
        card = gift_card(api, 1000)

        response = api.post(
            f"/v1/vouchers/{card}/redemption",
            json={"customer": {"source_id": "legacy-buyer"}, "order": {"amount": 400}},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["object"], body["result"], body["gift"]) == (
            "redemption",
            "SUCCESS",
            {"amount": 400},
        )
        assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 600
        assert summary(api, "legacy-buyer")["redemptions"]["total_succeeded"] == 1

    def test_a_failed_redemption_is_a_400_and_counted(self, api: httpx.Client):
        voucher = discount_voucher(
            api, {"type": "AMOUNT", "amount_off": 1}, expiration_date="2020-01-01T00:00:00Z"
        )

        response = api.post(
            f"/v1/vouchers/{voucher}/redemption", json={"customer": {"source_id": "legacy-late"}}
        )

        assert_error(response, 400, "voucher_expired")
        assert summary(api, "legacy-late")["redemptions"]["total_failed"] == 1

    def test_foreign_voucher_is_a_404(self, api, other_api):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})
        assert_error(
            other_api.post(f"/v1/vouchers/{voucher}/redemption", json={}), 404, "not_found"
        )
        assert api.get(f"/v1/vouchers/{voucher}").json()["redemption"]["redeemed_quantity"] == 0

    @pytest.mark.parametrize("body", [[], {"order": {"amount": "x"}}, {"gift": {"credits": "a"}}])
    def test_bad_bodies_are_400(self, api: httpx.Client, body):
        voucher = discount_voucher(api, {"type": "AMOUNT", "amount_off": 1})
        assert_error(
            api.post(f"/v1/vouchers/{voucher}/redemption", json=body), 400, "invalid_payload"
        )
        assert api.get(f"/v1/vouchers/{voucher}").json()["redemption"]["redeemed_quantity"] == 0
