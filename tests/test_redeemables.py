"""Campaigns, vouchers, publications, loyalty members, referral holders and a customer's
redeemables list, over HTTP on both databases (issue 5).

Holder rows are read straight from the database where the API has no view of them, so each
test proves what an operation wrote, not only what it answered.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.factories import (
    DISCOUNT,
    create_campaign,
    create_customer,
    create_voucher,
    db_fetch,
    publish,
    redeemables,
    wait_done,
)
from tests.helpers import assert_error

HOLDER_ID = re.compile(r"^rh_[0-9a-f]{18}$")
VOUCHER_ID = re.compile(r"^v_[A-Za-z0-9]{32}$")
CAMPAIGN_ID = re.compile(r"^camp_[A-Za-z0-9]{24}$")
PUB_ID = re.compile(r"^pub_[A-Za-z0-9]{24}$")
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def holder_rows(server, project, **where: str) -> list[dict[str, Any]]:
    """The project's redeemable_holder rows matching `column = value` pairs, oldest first."""
    sql = "SELECT * FROM redeemable_holder WHERE project_id = $1"
    args: list[Any] = [project.id]
    for column, value in where.items():
        args.append(value)
        sql += f" AND {column} = ${len(args)}"
    return db_fetch(server.backend.url, sql + " ORDER BY id", *args)


def count(server, project, table: str) -> int:
    rows = db_fetch(
        server.backend.url, f"SELECT COUNT(*) AS n FROM {table} WHERE project_id = $1", project.id
    )
    return rows[0]["n"]


def events(api: httpx.Client, customer: str, type_: str | None = None) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{quote(customer, safe='')}/activity", params={"limit": 100})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return [e for e in data if type_ is None or e["type"] == type_]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def referral_setup(api: httpx.Client) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(campaign, referrer customer, the referrer's published referral code)."""
    campaign = create_campaign(api, campaign_type="REFERRAL_PROGRAM")
    referrer = create_customer(api, source_id="referrer-" + campaign["id"][-6:])
    code = publish(api, referrer["source_id"], campaign={"name": campaign["name"]})["voucher"]
    return campaign, referrer, code


def add_referees(
    api: httpx.Client, code: str, *source_ids: str, campaign: str | None = None
) -> httpx.Response:
    path = (
        f"/v1/referrals/{campaign}/members/{quote(code, safe='')}/holders"
        if campaign
        else f"/v1/referrals/members/{quote(code, safe='')}/holders"
    )
    return api.post(path, json={"holders": [{"source_id": s} for s in source_ids]})


def holdings_world(api: httpx.Client) -> dict[str, Any]:
    """One customer holding a discount voucher, a gift card, a loyalty card and a referral code
    (REFERRER) with one referee; and that customer a referee of someone else's code (REFEREE).
    """
    owner = create_customer(api, source_id="holder a/b@x.com")
    sid = owner["source_id"]
    discount = create_voucher(api, code="DISC-1")
    publish(api, sid, voucher=discount["code"])
    gifts = create_campaign(api, campaign_type="GIFT_VOUCHERS", name="Gifts")
    gift = publish(api, sid, campaign={"name": "Gifts"})["voucher"]
    club = create_campaign(
        api,
        campaign_type="LOYALTY_PROGRAM",
        name="Club",
        voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 120}},
    )
    card = api.post(f"/v1/loyalties/{club['id']}/members", json={"customer": {"source_id": sid}})
    assert card.status_code == 200, card.text
    refer = create_campaign(api, campaign_type="REFERRAL_PROGRAM", name="Refer")
    own_code = publish(api, sid, campaign={"name": "Refer"})["voucher"]
    assert add_referees(api, own_code["code"], "friend-1").status_code == 200
    other = create_customer(api, source_id="other-referrer")
    their_code = publish(api, other["source_id"], campaign={"name": "Refer"})["voucher"]
    assert add_referees(api, their_code["code"], sid).status_code == 200
    return {
        "customer": owner,
        "discount": discount,
        "gift": gift,
        "gift_campaign": gifts,
        "card": card.json(),
        "club": club,
        "refer": refer,
        "own_code": own_code,
        "their_code": their_code,
        "other": other,
    }


# --- campaigns --------------------------------------------------------------------------------


class TestCampaignCreate:
    @pytest.mark.parametrize(
        ("campaign_type", "voucher_type", "kind"),
        [
            ("DISCOUNT_COUPONS", "DISCOUNT_VOUCHER", "STATIC"),
            ("GIFT_VOUCHERS", "GIFT_VOUCHER", "AUTO_UPDATE"),
            ("LOYALTY_PROGRAM", "LOYALTY_CARD", "AUTO_UPDATE"),
            ("REFERRAL_PROGRAM", "DISCOUNT_VOUCHER", "AUTO_UPDATE"),
        ],
    )
    def test_each_type(self, api, campaign_type, voucher_type, kind) -> None:
        made = create_campaign(api, campaign_type=campaign_type, name=f"C {campaign_type}")
        assert CAMPAIGN_ID.match(made["id"])
        assert made["name"] == f"C {campaign_type}"
        assert made["campaign_type"] == campaign_type
        assert made["type"] == kind
        assert made["voucher"]["type"] == voucher_type
        assert made["voucher"]["is_referral_code"] is (campaign_type == "REFERRAL_PROGRAM")
        assert made["voucher"]["code_config"] == {
            "length": 8,
            "charset": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        }
        assert made["vouchers_count"] == 0
        assert made["vouchers_generation_status"] == "DONE"
        assert made["active"] is True
        assert made["object"] == "campaign"
        assert WIRE_TIME.match(made["created_at"])
        by_id = api.get(f"/v1/campaigns/{made['id']}").json()
        by_name = api.get(f"/v1/campaigns/{quote(made['name'])}").json()
        assert by_id == by_name == made

    def test_list_by_type(self, api) -> None:
        create_campaign(api, campaign_type="GIFT_VOUCHERS")
        loyalty = create_campaign(api, campaign_type="LOYALTY_PROGRAM")
        body = api.get("/v1/campaigns", params={"campaign_type": "LOYALTY_PROGRAM"}).json()
        assert body["total"] == 1
        assert [c["id"] for c in body["campaigns"]] == [loyalty["id"]]
        assert api.get("/v1/campaigns").json()["total"] == 2

    def test_unknown_campaign_is_404(self, api) -> None:
        assert_error(api.get("/v1/campaigns/camp_nope"), 404, "not_found")


class TestCampaignNameConflict:
    def test_same_name_is_409_and_one_row(self, api, server, project) -> None:
        create_campaign(api, name="Spring")
        again = api.post(
            "/v1/campaigns",
            json={
                "name": "Spring",
                "campaign_type": "GIFT_VOUCHERS",
                "voucher": {"gift": {"amount": 1}},
            },
        )
        assert_error(again, 409, "duplicate_found")
        assert count(server, project, "campaign") == 1
        assert api.get("/v1/campaigns/Spring").json()["campaign_type"] == "DISCOUNT_COUPONS"

    def test_same_name_in_another_project_is_fine(self, api, other_api) -> None:
        create_campaign(api, name="Shared")
        assert create_campaign(other_api, name="Shared")["name"] == "Shared"


class TestCampaignBadBodies:
    @pytest.mark.parametrize(
        "body",
        [
            {"campaign_type": "DISCOUNT_COUPONS", "voucher": {"discount": DISCOUNT}},
            {"name": "", "voucher": {"discount": DISCOUNT}},
            {"name": "x", "campaign_type": "NOPE"},
            {"name": "x", "campaign_type": "DISCOUNT_COUPONS"},
            {"name": "x", "voucher": {"discount": {"type": "PERCENT", "percent_off": 150}}},
            {"name": "x", "voucher": {"discount": {"type": "BOGUS"}}},
            {"name": "x", "campaign_type": "GIFT_VOUCHERS", "voucher": {"gift": {}}},
            {"name": "x", "campaign_type": "GIFT_VOUCHERS", "voucher": {"gift": {"amount": -1}}},
            {
                "name": "x",
                "campaign_type": "GIFT_VOUCHERS",
                "voucher": {"type": "LOYALTY_CARD", "gift": {"amount": 1}},
            },
            {"name": "x", "voucher": {"discount": DISCOUNT}, "vouchers_count": -1},
            {"name": "x", "voucher": {"discount": DISCOUNT}, "vouchers_count": "ten"},
            {
                "name": "x",
                "voucher": {"discount": DISCOUNT, "code_config": {"charset": "a"}},
                "vouchers_count": 2,
            },
            {
                "name": "x",
                "voucher": {"discount": DISCOUNT, "code_config": {"pattern": "ABC"}},
                "vouchers_count": 2,
            },
            {
                "name": "x",
                "voucher": {
                    "discount": DISCOUNT,
                    "code_config": {"pattern": "##", "charset": "ab"},
                },
                "vouchers_count": 3,
            },
            {"name": "x", "voucher": {"discount": DISCOUNT}, "start_date": "yesterday"},
            ["not", "an", "object"],
        ],
    )
    def test_400_and_nothing_written(self, api, server, project, body) -> None:
        assert_error(api.post("/v1/campaigns", json=body), 400, "invalid_payload")
        assert count(server, project, "campaign") == 0
        assert count(server, project, "voucher") == 0
        assert count(server, project, "async_action") == 0

    def test_malformed_json(self, api, server, project) -> None:
        response = api.post(
            "/v1/campaigns", content=b'{"name": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert count(server, project, "campaign") == 0


class TestCampaignGeneration:
    def test_vouchers_count_codes_follow_code_config(self, api, server, project) -> None:
        made = create_campaign(
            api,
            vouchers_count=25,
            voucher={
                "type": "DISCOUNT_VOUCHER",
                "discount": DISCOUNT,
                "code_config": {"prefix": "SPR-", "pattern": "##-##", "charset": "ABC123"},
            },
        )
        assert made["vouchers_generation_status"] == "IN_PROGRESS"
        assert made["async_action_id"]
        action = wait_done(api, made["async_action_id"])
        assert action["status"] == "DONE"
        assert action["type"] == "CAMPAIGN.VOUCHERS_GENERATE"
        assert action["result"]["done_count"] == 25
        assert action["result"]["failed_count"] == 0
        again = api.get(f"/v1/campaigns/{made['id']}").json()
        assert again["vouchers_count"] == 25
        assert again["vouchers_generation_status"] == "DONE"
        codes = [
            r["code"]
            for r in db_fetch(
                server.backend.url,
                "SELECT code FROM voucher WHERE project_id = $1 AND campaign_id = $2",
                project.id,
                made["id"],
            )
        ]
        assert len(codes) == len(set(codes)) == 25
        assert all(re.fullmatch(r"SPR-[ABC123]{2}-[ABC123]{2}", c) for c in codes), codes

    def test_length_and_postfix(self, api, server, project) -> None:
        made = create_campaign(
            api,
            campaign_type="GIFT_VOUCHERS",
            vouchers_count=10,
            voucher={
                "type": "GIFT_VOUCHER",
                "gift": {"amount": 2500},
                "code_config": {"length": 6, "charset": "0123456789", "postfix": "-GC"},
            },
        )
        wait_done(api, made["async_action_id"])
        rows = db_fetch(
            server.backend.url,
            "SELECT code, gift_amount, gift_balance FROM voucher"
            " WHERE project_id = $1 AND campaign_id = $2",
            project.id,
            made["id"],
        )
        assert len({r["code"] for r in rows}) == 10
        assert all(re.fullmatch(r"\d{6}-GC", r["code"]) for r in rows)
        assert {(r["gift_amount"], r["gift_balance"]) for r in rows} == {(2500, 2500)}
        code = rows[0]["code"]
        voucher = api.get(f"/v1/vouchers/{code}").json()
        assert voucher["campaign"] == made["name"]
        assert voucher["campaign_id"] == made["id"]
        assert voucher["gift"]["balance"] == 2500


# --- vouchers ---------------------------------------------------------------------------------


class TestVoucherCreate:
    def test_with_code_in_body(self, api) -> None:
        v = create_voucher(api, code="SUMMER-1", metadata={"k": "v"})
        assert VOUCHER_ID.match(v["id"])
        assert v["code"] == "SUMMER-1"
        assert v["type"] == "DISCOUNT_VOUCHER"
        assert v["discount"] == DISCOUNT
        assert v["campaign"] is None
        assert v["campaign_id"] is None
        assert v["gift"] is None
        assert v["loyalty_card"] is None
        assert v["active"] is True
        assert v["holder_id"] is None
        assert v["metadata"] == {"k": "v"}
        assert v["publish"] == {
            "object": "list",
            "count": 0,
            "url": "/v1/vouchers/SUMMER-1/publications?page=1&limit=10",
        }
        assert v["redemption"]["quantity"] is None
        assert v["redemption"]["redeemed_quantity"] == 0
        assert v["object"] == "voucher"

    def test_with_code_config(self, api) -> None:
        v = create_voucher(
            api, code_config={"prefix": "GC-", "pattern": "####-##", "charset": "0123456789"}
        )
        assert re.fullmatch(r"GC-\d{4}-\d{2}", v["code"]), v["code"]

    def test_code_in_path(self, api) -> None:
        response = api.post(
            "/v1/vouchers/PATH-1", json={"type": "GIFT_VOUCHER", "gift": {"amount": 1000}}
        )
        assert response.status_code == 200, response.text
        v = response.json()
        assert v["code"] == "PATH-1"
        assert v["gift"] == {
            "amount": 1000,
            "subtracted_amount": 0,
            "balance": 1000,
            "effect": "APPLY_TO_ORDER",
        }

    def test_into_a_campaign(self, api) -> None:
        campaign = create_campaign(api, campaign_type="GIFT_VOUCHERS")
        v = create_voucher(
            api, type="GIFT_VOUCHER", gift={"amount": 700}, campaign=campaign["name"], code="IN-C"
        )
        assert v["campaign_id"] == campaign["id"]
        assert api.get(f"/v1/campaigns/{campaign['id']}").json()["vouchers_count"] == 1

    def test_duplicate_code_is_409(self, api, server, project) -> None:
        create_voucher(api, code="DUP")
        assert_error(
            api.post(
                "/v1/vouchers",
                json={"code": "DUP", "type": "DISCOUNT_VOUCHER", "discount": DISCOUNT},
            ),
            409,
            "duplicate_found",
        )
        assert_error(
            api.post("/v1/vouchers/DUP", json={"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT}),
            409,
            "duplicate_found",
        )
        assert count(server, project, "voucher") == 1

    @pytest.mark.parametrize(
        "body",
        [
            # (no `type` is a DISCOUNT_VOUCHER: tests/test_wire_edges.py)
            {"type": "DISCOUNT_VOUCHER"},
            {"type": "GIFT_VOUCHER", "gift": {}},
            {"type": "GIFT_VOUCHER", "gift": {"amount": -5}},
            {"type": "NOPE"},
            {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT, "code": "   "},
            {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT, "validity_day_of_week": [7]},
            {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT, "redemption": {"quantity": -1}},
        ],
    )
    def test_bad_bodies_are_400(self, api, server, project, body) -> None:
        assert_error(api.post("/v1/vouchers", json=body), 400, "invalid_payload")
        assert count(server, project, "voucher") == 0

    def test_unknown_campaign_is_404(self, api, server, project) -> None:
        response = api.post("/v1/vouchers", json={"campaign": "nope", "type": "DISCOUNT_VOUCHER"})
        assert_error(response, 404, "not_found")
        assert count(server, project, "voucher") == 0


class TestVoucherGet:
    def test_by_code_and_by_id(self, api) -> None:
        v = create_voucher(api, code="GET-ME")
        assert api.get("/v1/vouchers/GET-ME").json() == v
        assert api.get(f"/v1/vouchers/{v['id']}").json() == v

    def test_percent_encoded_code(self, api) -> None:
        created = api.post(
            "/v1/vouchers/a%2Fb%20c", json={"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT}
        )
        assert created.status_code == 200, created.text
        v = created.json()
        assert v["code"] == "a/b c"
        assert v["publish"]["url"] == "/v1/vouchers/a%2Fb%20c/publications?page=1&limit=10"
        assert api.get("/v1/vouchers/a%2Fb%20c").json()["id"] == v["id"]
        assert api.post("/v1/vouchers/a%2Fb%20c/disable").json()["active"] is False
        put = api.put("/v1/vouchers/a%2Fb%20c", json={"additional_info": "slash"})
        assert put.json()["additional_info"] == "slash"
        body = create_voucher(api, code="x%2Fy @z")
        assert body["code"] == "x%2Fy @z"
        assert api.get("/v1/vouchers/x%252Fy%20%40z").json()["id"] == body["id"]

    def test_unknown_is_404(self, api) -> None:
        body = assert_error(api.get("/v1/vouchers/NOPE"), 404, "not_found")
        assert body["resource_type"] == "voucher"


class TestVoucherUpdate:
    def test_put_keeps_absent_fields(self, api) -> None:
        create_voucher(
            api,
            code="KEEP",
            metadata={"a": 1},
            additional_info="info",
            category="cat",
            start_date="2020-01-01T00:00:00Z",
            redemption={"quantity": 5},
        )
        response = api.put("/v1/vouchers/KEEP", json={"metadata": {"b": 2}})
        assert response.status_code == 200, response.text
        v = response.json()
        assert v["metadata"] == {"b": 2}
        assert v["additional_info"] == "info"
        assert v["category"] == "cat"
        assert v["start_date"] == "2020-01-01T00:00:00.000Z"
        assert v["discount"] == DISCOUNT
        assert v["redemption"]["quantity"] == 5
        assert WIRE_TIME.match(v["updated_at"])
        cleared = api.put("/v1/vouchers/KEEP", json={"additional_info": None}).json()
        assert cleared["additional_info"] is None
        assert cleared["metadata"] == {"b": 2}
        assert api.get("/v1/vouchers/KEEP").json() == cleared

    def test_gift_amount_change_keeps_spent(self, api, server, project) -> None:
        v = create_voucher(api, code="GIFT", type="GIFT_VOUCHER", gift={"amount": 1000})
        customer = create_customer(api)
        publish(api, {"id": customer["id"]}, voucher="GIFT")
        spent = db_fetch(
            server.backend.url,
            "UPDATE voucher SET gift_balance = 700 WHERE project_id = $1 AND id = $2 RETURNING id",
            project.id,
            v["id"],
        )
        assert len(spent) == 1
        gift = api.put("/v1/vouchers/GIFT", json={"gift": {"amount": 2000}}).json()["gift"]
        assert gift == {
            "amount": 2000,
            "subtracted_amount": 300,
            "balance": 1700,
            "effect": "APPLY_TO_ORDER",
        }
        after = api.get(f"/v1/customers/{customer['id']}").json()
        assert after["summary"]["redemptions"]["gift"]["amount_to_go"] == 1700

    def test_type_is_ignored(self, api) -> None:
        # The Python SDK's update body always carries type DISCOUNT_VOUCHER (its default).
        create_voucher(api, code="T", type="GIFT_VOUCHER", gift={"amount": 300})
        response = api.put("/v1/vouchers/T", json={"type": "DISCOUNT_VOUCHER", "active": False})
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "GIFT_VOUCHER"
        assert response.json()["gift"]["balance"] == 300
        assert response.json()["active"] is False
        assert api.get("/v1/vouchers/T").json()["type"] == "GIFT_VOUCHER"

    def test_unknown_is_404(self, api) -> None:
        assert_error(api.put("/v1/vouchers/NOPE", json={"active": False}), 404, "not_found")


class TestEnableDisable:
    def test_disable_then_enable(self, api) -> None:
        create_voucher(api, code="ON-OFF")
        off = api.post("/v1/vouchers/ON-OFF/disable")
        assert off.status_code == 200, off.text
        assert off.json()["active"] is False
        assert api.get("/v1/vouchers/ON-OFF").json()["active"] is False
        on = api.post("/v1/vouchers/ON-OFF/enable").json()
        assert on["active"] is True
        assert api.get("/v1/vouchers/ON-OFF").json()["active"] is True

    def test_unknown_is_404(self, api) -> None:
        assert_error(api.post("/v1/vouchers/NOPE/disable"), 404, "not_found")
        assert_error(api.post("/v1/vouchers/NOPE/enable"), 404, "not_found")


class TestVoucherDelete:
    def test_held_voucher_goes_with_holders_and_an_event(self, api, server, project) -> None:
        customer = create_customer(api, source_id="keeper")
        v = create_voucher(api, code="DOOMED")
        publish(api, "keeper", voucher="DOOMED")
        assert len(holder_rows(server, project, redeemable_id=v["id"])) == 1
        response = api.delete("/v1/vouchers/DOOMED")
        assert response.status_code == 204
        assert response.content == b""
        assert_error(api.get("/v1/vouchers/DOOMED"), 404, "not_found")
        assert holder_rows(server, project, redeemable_id=v["id"]) == []
        assert count(server, project, "publication") == 0
        assert redeemables(api, "keeper")["data"] == []
        deleted = events(api, "keeper", "customer.voucher.deleted")
        assert len(deleted) == 1
        assert deleted[0]["data"]["data"]["voucher"]["code"] == "DOOMED"
        assert deleted[0]["data"]["data"]["customer"]["id"] == customer["id"]
        assert_error(api.delete("/v1/vouchers/DOOMED"), 404, "not_found")

    def test_deleting_a_loyalty_card_drops_the_points(self, api) -> None:
        club = create_campaign(
            api,
            campaign_type="LOYALTY_PROGRAM",
            name="Gone Club",
            voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 30}},
        )
        card = api.post(
            f"/v1/loyalties/{club['id']}/members", json={"customer": {"source_id": "pts"}}
        ).json()
        assert api.get("/v1/customers/pts").json()["loyalty"]["points"] == 30
        assert api.delete(f"/v1/vouchers/{card['code']}").status_code == 204
        after = api.get("/v1/customers/pts").json()
        assert after["loyalty"] == {"points": 0, "referred_customers": 0, "campaigns": {}}
        assert after["summary"]["redemptions"]["loyalty_card"]["points_to_go"] == 0

    def test_unheld_voucher_records_no_event(self, api, server, project) -> None:
        create_voucher(api, code="LONELY")
        assert api.delete("/v1/vouchers/LONELY").status_code == 204
        assert count(server, project, "voucher") == 0
        assert count(server, project, "customer_event") == 0


# --- publications -----------------------------------------------------------------------------


class TestPublishByCode:
    def test_owner_row_publish_count_and_event(self, api, server, project) -> None:
        customer = create_customer(api, source_id="pub-1")
        v = create_voucher(api, code="PUB-CODE")
        response = api.post(
            "/v1/publications",
            json={"voucher": "PUB-CODE", "customer": {"source_id": "pub-1"}, "metadata": {"m": 1}},
        )
        assert response.status_code == 200, response.text
        pub = response.json()
        assert PUB_ID.match(pub["id"])
        assert pub["object"] == "publication"
        assert pub["result"] == "SUCCESS"
        assert pub["customer_id"] == customer["id"]
        assert pub["tracking_id"] == "pub-1"
        assert pub["metadata"] == {"m": 1}
        assert pub["channel"] == "API"
        assert pub["customer"]["id"] == customer["id"]
        assert pub["vouchers_id"] == [v["id"]]
        assert pub["voucher"]["code"] == "PUB-CODE"
        assert pub["voucher"]["holder_id"] == customer["id"]
        assert pub["voucher"]["publish"]["count"] == 1
        assert api.get("/v1/vouchers/PUB-CODE").json()["publish"]["count"] == 1
        rows = holder_rows(server, project, redeemable_id=v["id"])
        assert [(r["customer_id"], r["holder_role"], r["voucher_type"]) for r in rows] == [
            (customer["id"], "OWNER", "DISCOUNT_VOUCHER")
        ]
        assert rows[0]["campaign_id"] is None
        assert HOLDER_ID.match(rows[0]["id"])
        succeeded = events(api, "pub-1", "customer.publication.succeeded")
        assert len(succeeded) == 1
        assert succeeded[0]["data"]["data"]["publication"]["id"] == pub["id"]
        assert succeeded[0]["group_id"] == response.headers["x-request-id"]

    def test_same_customer_again_keeps_the_holder_row(self, api, server, project) -> None:
        create_customer(api, source_id="twice")
        v = create_voucher(api, code="TWICE")
        publish(api, "twice", voucher="TWICE")
        again = publish(api, "twice", voucher="TWICE")
        assert again["voucher"]["publish"]["count"] == 1
        assert len(holder_rows(server, project, redeemable_id=v["id"])) == 1

    def test_by_voucher_id(self, api) -> None:
        v = create_voucher(api)
        pub = publish(api, "by-id-customer", voucher=v["id"])
        assert pub["voucher"]["code"] == v["code"]


class TestPublishCustomer:
    def test_inline_customer_is_upserted(self, api) -> None:
        create_customer(api, source_id="inline", name="Old", email="old@x.org")
        create_voucher(api, code="INL")
        pub = publish(api, {"source_id": "inline", "name": "New Name"}, voucher="INL")
        customer = api.get("/v1/customers/inline").json()
        assert customer["name"] == "New Name"
        assert customer["email"] == "old@x.org"
        assert pub["customer"]["name"] == "New Name"

    def test_unknown_source_id_creates_the_customer(self, api) -> None:
        assert api.get("/v1/customers/brand-new").status_code == 404
        create_voucher(api, code="NEWC")
        pub = publish(api, "brand-new", voucher="NEWC")
        customer = api.get("/v1/customers/brand-new")
        assert customer.status_code == 200
        assert customer.json()["id"] == pub["customer_id"]
        types = [e["type"] for e in events(api, "brand-new")]
        assert sorted(types) == ["customer.created", "customer.publication.succeeded"]

    def test_unknown_customer_id_is_404(self, api, server, project) -> None:
        create_voucher(api, code="NOBODY")
        response = api.post(
            "/v1/publications", json={"voucher": "NOBODY", "customer": {"id": "cust_nope"}}
        )
        assert_error(response, 404, "not_found")
        assert count(server, project, "redeemable_holder") == 0

    def test_customer_without_id_or_source_id_is_400(self, api, server, project) -> None:
        create_voucher(api, code="ANON")
        response = api.post("/v1/publications", json={"voucher": "ANON", "customer": {"name": "x"}})
        assert response.status_code == 400
        assert count(server, project, "customer") == 0


class TestPublishByCampaign:
    def test_codes_come_from_the_campaign(self, api, server, project) -> None:
        campaign = create_campaign(api, vouchers_count=3)
        wait_done(api, campaign["async_action_id"])
        first = publish(api, "c-1", campaign={"name": campaign["name"]})["voucher"]
        second = publish(api, "c-2", campaign=campaign["name"])["voucher"]
        assert first["campaign_id"] == second["campaign_id"] == campaign["id"]
        assert first["code"] != second["code"]
        rows = holder_rows(server, project, campaign_id=campaign["id"])
        assert {r["campaign_type"] for r in rows} == {"DISCOUNT_COUPONS"}
        assert {r["holder_role"] for r in rows} == {"OWNER"}
        assert len(rows) == 2

    def test_count_publishes_several(self, api) -> None:
        campaign = create_campaign(api, vouchers_count=4)
        wait_done(api, campaign["async_action_id"])
        pub = publish(api, "many", campaign={"name": campaign["name"], "count": 3})
        assert len(pub["vouchers_id"]) == 3
        assert len(set(pub["vouchers"])) == 3
        assert redeemables(api, "many")["total"] == 3

    def test_referral_code_gives_a_referrer_row(self, api, server, project) -> None:
        _campaign, referrer, code = referral_setup(api)
        assert code["is_referral_code"] is True
        rows = holder_rows(server, project, redeemable_id=code["id"])
        assert [(r["customer_id"], r["holder_role"]) for r in rows] == [
            (referrer["id"], "REFERRER")
        ]
        assert rows[0]["campaign_type"] == "REFERRAL_PROGRAM"

    def test_referral_join_once_gives_the_same_code(self, api, server, project) -> None:
        campaign, referrer, code = referral_setup(api)
        again = publish(api, referrer["source_id"], campaign={"name": campaign["name"]})
        assert again["voucher"]["code"] == code["code"]
        assert api.get(f"/v1/campaigns/{campaign['id']}").json()["vouchers_count"] == 1

    def test_static_campaign_exhausted_is_400(self, api, server, project) -> None:
        campaign = create_campaign(api, vouchers_count=1)
        assert campaign["type"] == "STATIC"
        wait_done(api, campaign["async_action_id"])
        publish(api, "s-1", campaign={"name": campaign["name"]})
        create_customer(api, source_id="s-2")
        response = api.post(
            "/v1/publications",
            json={"campaign": {"name": campaign["name"]}, "customer": {"source_id": "s-2"}},
        )
        assert_error(response, 400, "no_voucher_suitable_for_publication")
        assert redeemables(api, "s-2")["total"] == 0
        assert api.get(f"/v1/campaigns/{campaign['id']}").json()["vouchers_count"] == 1

    def test_auto_update_campaign_makes_a_new_code(self, api) -> None:
        campaign = create_campaign(
            api,
            type="AUTO_UPDATE",
            voucher={
                "type": "DISCOUNT_VOUCHER",
                "discount": DISCOUNT,
                "code_config": {"prefix": "AU-", "length": 5},
            },
        )
        assert campaign["vouchers_count"] == 0
        one = publish(api, "a-1", campaign={"name": campaign["name"]})["voucher"]
        two = publish(api, "a-2", campaign={"name": campaign["name"]})["voucher"]
        assert re.fullmatch(r"AU-[A-Za-z0-9]{5}", one["code"])
        assert one["code"] != two["code"]
        assert api.get(f"/v1/campaigns/{campaign['id']}").json()["vouchers_count"] == 2

    def test_concurrent_publications_get_distinct_codes(self, api, server, project) -> None:
        from concurrent.futures import ThreadPoolExecutor

        campaign = create_campaign(api, vouchers_count=8)
        wait_done(api, campaign["async_action_id"])

        def one(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.base_url, headers=project.headers) as client:
                return client.post(
                    "/v1/publications",
                    json={
                        "campaign": {"name": campaign["name"]},
                        "customer": {"source_id": f"r{i}"},
                    },
                )

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(one, range(8)))
        assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
        codes = {r.json()["voucher"]["code"] for r in responses}
        assert len(codes) == 8
        rows = holder_rows(server, project, campaign_id=campaign["id"])
        assert len({r["redeemable_id"] for r in rows}) == len(rows) == 8

    def test_unknown_campaign_is_404(self, api) -> None:
        response = api.post(
            "/v1/publications", json={"campaign": {"name": "nope"}, "customer": {"source_id": "x"}}
        )
        assert_error(response, 404, "not_found")

    def test_too_many_is_400(self, api) -> None:
        campaign = create_campaign(api)
        response = api.post(
            "/v1/publications",
            json={
                "campaign": {"name": campaign["name"], "count": 51},
                "customer": {"source_id": "x"},
            },
        )
        assert_error(response, 400, "too_many_vouchers_requested")


class TestPublicationFailure:
    def test_disabled_voucher_400_and_failed_event(self, api, server, project) -> None:
        create_customer(api, source_id="unlucky")
        v = create_voucher(api, code="OFF", active=False)
        response = api.post(
            "/v1/publications", json={"voucher": "OFF", "customer": {"source_id": "unlucky"}}
        )
        assert_error(response, 400, "voucher_cannot_be_published")
        assert holder_rows(server, project, redeemable_id=v["id"]) == []
        assert api.get("/v1/vouchers/OFF").json()["publish"]["count"] == 0
        failed = events(api, "unlucky", "customer.publication.failed")
        assert len(failed) == 1
        assert failed[0]["data"]["data"]["publication"]["result"] == "FAILURE"
        assert failed[0]["data"]["data"]["error"]["key"] == "voucher_cannot_be_published"
        assert events(api, "unlucky", "customer.publication.succeeded") == []

    def test_already_published_to_someone_else(self, api, server, project) -> None:
        v = create_voucher(api, code="TAKEN")
        publish(api, "first", voucher="TAKEN")
        create_customer(api, source_id="second")
        response = api.post(
            "/v1/publications", json={"voucher": "TAKEN", "customer": {"source_id": "second"}}
        )
        assert_error(response, 400, "voucher_already_published")
        assert len(holder_rows(server, project, redeemable_id=v["id"])) == 1
        assert len(events(api, "second", "customer.publication.failed")) == 1

    def test_unknown_customer_gets_no_event_and_is_not_created(self, api, server, project) -> None:
        create_voucher(api, code="OFF2", active=False)
        response = api.post(
            "/v1/publications", json={"voucher": "OFF2", "customer": {"source_id": "ghost"}}
        )
        assert response.status_code == 400
        assert api.get("/v1/customers/ghost").status_code == 404
        assert count(server, project, "customer_event") == 0


class TestPublicationSourceId:
    def test_same_source_id_and_customer_is_the_same_publication(
        self, api, server, project
    ) -> None:
        campaign = create_campaign(api, vouchers_count=2)
        wait_done(api, campaign["async_action_id"])
        body = {"campaign": {"name": campaign["name"]}, "source_id": "order-77"}
        first = publish(api, "idem", **body)
        second = publish(api, "idem", **body)
        assert second["id"] == first["id"]
        assert second["voucher"]["code"] == first["voucher"]["code"]
        assert second["created_at"] == first["created_at"]
        assert second["source_id"] == "order-77"
        assert len(events(api, "idem", "customer.publication.succeeded")) == 1
        assert count(server, project, "publication") == 1
        assert redeemables(api, "idem")["total"] == 1

    def test_other_customer_is_duplicate_source_id(self, api, server, project) -> None:
        create_voucher(api, code="S1")
        create_voucher(api, code="S2")
        publish(api, "one", voucher="S1", source_id="shared")
        response = api.post(
            "/v1/publications",
            json={"voucher": "S2", "customer": {"source_id": "two"}, "source_id": "shared"},
        )
        assert_error(response, 400, "duplicate_source_id")
        assert api.get("/v1/vouchers/S2").json()["holder_id"] is None
        assert count(server, project, "publication") == 1


class TestPublicationByGet:
    def test_campaign_name_and_customer_source_id(self, api, server, project) -> None:
        campaign = create_campaign(api, name="Get Camp", vouchers_count=1)
        wait_done(api, campaign["async_action_id"])
        response = api.get(
            "/v1/publications/create?campaign[name]=Get%20Camp&customer[source_id]=via-get"
            "&join_once=true"
        )
        assert response.status_code == 200, response.text
        pub = response.json()
        assert pub["voucher"]["campaign_id"] == campaign["id"]
        customer = api.get("/v1/customers/via-get").json()
        assert pub["customer_id"] == customer["id"]
        rows = holder_rows(server, project, customer_id=customer["id"])
        assert [r["holder_role"] for r in rows] == ["OWNER"]

    def test_percent_encoded_brackets_and_voucher(self, api) -> None:
        create_voucher(api, code="G-1")
        response = api.get(
            "/v1/publications/create?voucher=G-1&customer%5Bsource_id%5D=enc&customer%5Bname%5D=Enc"
        )
        assert response.status_code == 200, response.text
        assert api.get("/v1/customers/enc").json()["name"] == "Enc"

    def test_bad_query_is_400(self, api) -> None:
        response = api.get("/v1/publications/create?customer[source_id]=x")
        assert response.status_code == 400


# --- loyalty members --------------------------------------------------------------------------


class TestLoyaltyMembers:
    def test_card_owner_points_and_campaigns_map(self, api, server, project) -> None:
        club = create_campaign(
            api,
            campaign_type="LOYALTY_PROGRAM",
            name="Club",
            voucher={"type": "LOYALTY_CARD", "loyalty_card": {"points": 40}},
        )
        customer = create_customer(api, source_id="member")
        response = api.post(
            f"/v1/loyalties/{club['id']}/members", json={"customer": {"source_id": "member"}}
        )
        assert response.status_code == 200, response.text
        card = response.json()
        assert card["type"] == "LOYALTY_CARD"
        assert card["holder_id"] == customer["id"]
        assert card["loyalty_card"]["points"] == card["loyalty_card"]["balance"] == 40
        assert card["campaign"] == "Club"
        rows = holder_rows(server, project, customer_id=customer["id"])
        assert [(r["holder_role"], r["voucher_type"], r["campaign_type"]) for r in rows] == [
            ("OWNER", "LOYALTY_CARD", "LOYALTY_PROGRAM")
        ]
        got = api.get("/v1/customers/member").json()
        assert got["loyalty"] == {
            "points": 40,
            "referred_customers": 0,
            "campaigns": {"Club": {"points": 40, "referred_customers": 0}},
        }
        assert got["summary"]["redemptions"]["loyalty_card"]["points_to_go"] == 40
        assert len(events(api, "member", "customer.publication.succeeded")) == 1

    def test_second_join_is_400(self, api, server, project) -> None:
        club = create_campaign(api, campaign_type="LOYALTY_PROGRAM")
        body = {"customer": {"source_id": "twice"}}
        assert api.post(f"/v1/loyalties/{club['id']}/members", json=body).status_code == 200
        again = api.post(f"/v1/loyalties/{club['id']}/members", json=body)
        assert_error(again, 400, "voucher_cannot_be_published")
        assert count(server, project, "redeemable_holder") == 1
        assert api.get(f"/v1/campaigns/{club['id']}").json()["vouchers_count"] == 1

    def test_by_campaign_name_and_given_card(self, api) -> None:
        club = create_campaign(api, campaign_type="LOYALTY_PROGRAM", name="Named Club")
        card = create_voucher(
            api,
            code="CARD-9",
            type="LOYALTY_CARD",
            campaign_id=club["id"],
            loyalty_card={"points": 5},
        )
        response = api.post(
            "/v1/loyalties/Named%20Club/members",
            json={"customer": {"source_id": "given"}, "voucher": "CARD-9"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["id"] == card["id"]

    def test_not_a_loyalty_campaign_is_404(self, api) -> None:
        gifts = create_campaign(api, campaign_type="GIFT_VOUCHERS")
        response = api.post(
            f"/v1/loyalties/{gifts['id']}/members", json={"customer": {"source_id": "x"}}
        )
        assert_error(response, 404, "not_found")
        assert_error(
            api.post("/v1/loyalties/camp_nope/members", json={"customer": {"source_id": "x"}}),
            404,
            "not_found",
        )


# --- referral holders -------------------------------------------------------------------------


class TestReferralHolders:
    def test_referee_rows_both_path_variants(self, api, server, project) -> None:
        campaign, _referrer, code = referral_setup(api)
        one = add_referees(api, code["code"], "ref-1", campaign=campaign["id"])
        assert one.status_code == 200, one.text
        two = add_referees(api, code["code"], "ref-2")
        assert two.status_code == 200, two.text
        holders = one.json()["holders"] + two.json()["holders"]
        assert all(HOLDER_ID.match(h["id"]) for h in holders)
        assert {h["holder_role"] for h in holders} == {"REFEREE"}
        assert {h["redeemable_id"] for h in holders} == {code["id"]}
        assert {h["campaign_type"] for h in holders} == {"REFERRAL_PROGRAM"}
        assert {h["object"] for h in holders} == {"redeemable_holder"}
        rows = holder_rows(server, project, redeemable_id=code["id"], holder_role="REFEREE")
        assert sorted(r["id"] for r in rows) == sorted(h["id"] for h in holders)
        for sid in ("ref-1", "ref-2"):
            created = events(api, sid, "customer.holder.assignment.created")
            assert len(created) == 1

    def test_same_referee_again_is_the_same_row(self, api, server, project) -> None:
        _campaign, _referrer, code = referral_setup(api)
        first = add_referees(api, code["code"], "again").json()["holders"][0]
        second = add_referees(api, code["code"], "again").json()["holders"][0]
        assert second["id"] == first["id"]
        assert len(events(api, "again", "customer.holder.assignment.created")) == 1
        assert len(holder_rows(server, project, holder_role="REFEREE")) == 1

    def test_referrer_and_referee_holdings(self, api) -> None:
        campaign, referrer, code = referral_setup(api)
        add_referees(api, code["code"], "f-1", "f-2")
        got = api.get(f"/v1/customers/{referrer['id']}").json()
        assert got["loyalty"]["referred_customers"] == 2
        assert got["loyalty"]["campaigns"][campaign["name"]]["referred_customers"] == 2
        referee = api.get("/v1/customers/f-1").json()
        assert referee["referrals"]["total"] == 1
        [entry] = referee["referrals"]["campaigns"]
        assert entry["campaign_id"] == campaign["id"]
        assert entry["referrer_id"] == referrer["id"]
        assert HOLDER_ID.match(entry["related_object_id"])
        assert WIRE_TIME.match(entry["date"])

    def test_list_with_paging(self, api, server, project) -> None:
        campaign, _referrer, code = referral_setup(api)
        add_referees(api, code["code"], *(f"p-{i}" for i in range(5)))
        # the code's holders: its REFERRER and the five REFEREEs
        every = sorted(r["id"] for r in holder_rows(server, project, redeemable_id=code["id"]))
        assert len(every) == 6
        path = f"/v1/referrals/{campaign['id']}/members/{code['code']}/holders"
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            params: dict[str, Any] = {"limit": 2, "order": "id"}
            if cursor:
                params["starting_after_id"] = cursor
            page = api.get(path, params=params).json()
            assert page["object"] == "list"
            assert page["data_ref"] == "data"
            assert page["total"] == 6
            seen += [h["id"] for h in page["data"]]
            if not page["has_more"]:
                assert "more_starting_after" not in page
                break
            cursor = page["more_starting_after"]
            assert cursor == page["data"][-1]["id"]
        assert seen == every
        short = api.get(
            f"/v1/referrals/members/{code['code']}/holders",
            params={"filters[holder_role][conditions][$is]": "REFEREE"},
        ).json()
        assert short["total"] == 5
        referees = holder_rows(server, project, redeemable_id=code["id"], holder_role="REFEREE")
        assert [h["id"] for h in short["data"]] == sorted((r["id"] for r in referees), reverse=True)
        assert {h["holder_role"] for h in short["data"]} == {"REFEREE"}

    def test_delete_emits_event_and_updates_holdings(self, api, server, project) -> None:
        campaign, referrer, code = referral_setup(api)
        [holder] = add_referees(api, code["code"], "leaving").json()["holders"]
        path = f"/v1/referrals/{campaign['id']}/members/{code['code']}/holders/{holder['id']}"
        response = api.delete(path)
        assert response.status_code == 204
        assert holder_rows(server, project, holder_role="REFEREE") == []
        deleted = events(api, "leaving", "customer.holder.assignment.deleted")
        assert len(deleted) == 1
        assert deleted[0]["data"]["data"]["holder"]["id"] == holder["id"]
        assert api.get("/v1/customers/leaving").json()["referrals"]["total"] == 0
        assert (
            api.get(f"/v1/customers/{referrer['id']}").json()["loyalty"]["referred_customers"] == 0
        )
        assert_error(api.delete(path), 404, "not_found")

    def test_delete_without_campaign_in_path(self, api, server, project) -> None:
        _campaign, _referrer, code = referral_setup(api)
        [holder] = add_referees(api, code["code"], "short").json()["holders"]
        response = api.delete(f"/v1/referrals/members/{code['id']}/holders/{holder['id']}")
        assert response.status_code == 204
        assert holder_rows(server, project, holder_role="REFEREE") == []

    def test_referrer_cannot_refer_themselves(self, api, server, project) -> None:
        _campaign, referrer, code = referral_setup(api)
        response = add_referees(api, code["code"], referrer["source_id"])
        assert_error(response, 400, "invalid_payload")
        assert holder_rows(server, project, holder_role="REFEREE") == []

    def test_not_a_referral_code_or_unpublished(self, api, server, project) -> None:
        create_voucher(api, code="PLAIN")
        assert_error(add_referees(api, "PLAIN", "x"), 400, "invalid_payload")
        campaign = create_campaign(api, campaign_type="REFERRAL_PROGRAM")
        fresh = create_voucher(api, campaign_id=campaign["id"], code="UNPUB", discount=DISCOUNT)
        assert fresh["is_referral_code"] is True
        assert_error(add_referees(api, "UNPUB", "x"), 400, "invalid_payload")
        assert_error(add_referees(api, "NOPE", "x"), 404, "not_found")
        assert count(server, project, "redeemable_holder") == 0
        assert api.get("/v1/customers/x").status_code == 404

    def test_code_of_another_campaign_is_404(self, api) -> None:
        _campaign, _referrer, code = referral_setup(api)
        other = create_campaign(api, campaign_type="REFERRAL_PROGRAM")
        assert_error(add_referees(api, code["code"], "x", campaign=other["id"]), 404, "not_found")


# --- a customer's redeemables: every filter form ----------------------------------------------


@pytest.fixture
def world(api) -> dict[str, Any]:
    return holdings_world(api)


def roles(body: dict[str, Any]) -> list[str]:
    return sorted(item["holder_role"] for item in body["data"])


def kinds(body: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((i["voucher_type"], i["holder_role"]) for i in body["data"])


SID = "holder a/b@x.com"


class TestRedeemablesList:
    def test_every_holding_with_its_shape(self, api, world) -> None:
        body = redeemables(api, SID)
        assert body["object"] == "list"
        assert body["data_ref"] == "data"
        assert body["total"] == 5
        assert body["has_more"] is False
        assert "more_starting_after" not in body
        assert kinds(body) == [
            ("DISCOUNT_VOUCHER", "OWNER"),
            ("DISCOUNT_VOUCHER", "REFEREE"),
            ("DISCOUNT_VOUCHER", "REFERRER"),
            ("GIFT_VOUCHER", "OWNER"),
            ("LOYALTY_CARD", "OWNER"),
        ]
        ids = [i["id"] for i in body["data"]]
        assert ids == sorted(ids, reverse=True)  # default order -id: newest first
        for item in body["data"]:
            assert HOLDER_ID.match(item["id"])
            assert item["customer_id"] == world["customer"]["id"]
            assert item["redeemable_object"] == "voucher"
            assert item["redeemable"]["type"] == "voucher"
            assert item["redeemable"]["status"] == "ACTIVE"
            assert item["redeemable"]["voucher"]["id"] == item["redeemable_id"]
        card = next(i for i in body["data"] if i["voucher_type"] == "LOYALTY_CARD")
        assert card["campaign_id"] == world["club"]["id"]
        assert card["campaign_type"] == "LOYALTY_PROGRAM"
        assert card["redeemable"]["voucher"]["loyalty_card"]["balance"] == 120
        referee = next(i for i in body["data"] if i["holder_role"] == "REFEREE")
        assert referee["redeemable_id"] == world["their_code"]["id"]
        assert referee["redeemable"]["voucher"]["holder_id"] == world["other"]["id"]
        standalone = next(i for i in body["data"] if i["redeemable_id"] == world["discount"]["id"])
        assert standalone["campaign_id"] is None
        assert standalone["campaign_type"] is None

    def test_by_id_and_encoded_source_id(self, api, world) -> None:
        by_id = redeemables(api, world["customer"]["id"])
        by_source = api.get("/v1/customers/holder%20a%2Fb%40x.com/redeemables").json()
        assert by_id == by_source

    def test_customer_object_holdings(self, api, world) -> None:
        got = api.get(f"/v1/customers/{world['customer']['id']}").json()
        assert got["loyalty"]["points"] == 120
        assert got["loyalty"]["referred_customers"] == 1
        assert got["loyalty"]["campaigns"] == {
            "Club": {"points": 120, "referred_customers": 0},
            "Refer": {"points": 0, "referred_customers": 1},
        }
        assert got["summary"]["redemptions"]["gift"]["amount_to_go"] == 5000
        assert got["referrals"]["total"] == 1
        assert got["referrals"]["campaigns"][0]["referrer_id"] == world["other"]["id"]

    def test_unknown_customer_is_404(self, api) -> None:
        body = assert_error(api.get("/v1/customers/nobody/redeemables"), 404, "not_found")
        assert body["resource_type"] == "customer"

    def test_customer_holding_nothing(self, api) -> None:
        create_customer(api, source_id="empty")
        assert redeemables(api, "empty") == {
            "object": "list",
            "data_ref": "data",
            "data": [],
            "total": 0,
            "has_more": False,
        }


class TestRedeemablesFilterForms:
    @pytest.mark.parametrize(
        "query",
        [
            "filters[holder_role][conditions][$in][0]=OWNER",
            "filters%5Bholder_role%5D%5Bconditions%5D%5B%24in%5D%5B0%5D=OWNER",
            "filters[holder_role][conditions][$in]=" + quote("['OWNER']"),
            "filters[holder_role][conditions][%24in]=" + quote("['OWNER']", safe=""),
            "filters[holder_role][conditions][$is]=OWNER",
            "filters[holder_role][conditions][$in][]=OWNER",
        ],
    )
    def test_owner_only(self, api, world, query) -> None:
        assert roles(redeemables(api, SID, query)) == ["OWNER"] * 3

    def test_js_indices_two_values(self, api, world) -> None:
        query = (
            "filters%5Bholder_role%5D%5Bconditions%5D%5B%24in%5D%5B0%5D=OWNER"
            "&filters%5Bholder_role%5D%5Bconditions%5D%5B%24in%5D%5B1%5D=REFEREE"
        )
        assert roles(redeemables(api, SID, query)) == ["OWNER"] * 3 + ["REFEREE"]

    def test_python_list_repr_two_values(self, api, world) -> None:
        query = "filters[holder_role][conditions][$in]=" + quote("['OWNER', 'REFEREE']", safe="")
        assert roles(redeemables(api, SID, query)) == ["OWNER"] * 3 + ["REFEREE"]

    def test_python_none_leaves_are_not_given(self, api, world) -> None:
        query = (
            "filters[id]=None&filters[redeemable_id]=None"
            "&filters[created_at][conditions][$before]=None"
            "&filters[created_at][conditions][$after]=None"
            "&filters[holder_role][conditions][$in]=None"
            "&filters[voucher_type][conditions][$in]="
            + quote("['LOYALTY_CARD']")
            + "&filters[junction]=None"
        )
        body = redeemables(api, SID, query)
        assert kinds(body) == [("LOYALTY_CARD", "OWNER")]
        assert body["total"] == 1
        everything = redeemables(api, SID, "filters[id]=None&filters[junction]=None")
        assert everything["total"] == 5

    def test_python_from_dict_filters(self, api, world) -> None:
        # ParameterFiltersListCustomerRedeemables.from_dict(...) as the SDK puts it on the wire:
        # every unset condition, `$has_value` and `$is_unknown` included, is the text None.
        unset = "&".join(
            f"filters[holder_role][conditions][{op}]=None"
            for op in ("$not_in", "$is", "$is_not", "$has_value", "$is_unknown", "$starts_with")
        )
        query = (
            "filters[holder_role][conditions][$in]=%5B%27OWNER%27%5D&"
            + unset
            + "&filters[id]=None&filters[created_at]=None&filters[campaign_type]=None"
        )
        assert roles(redeemables(api, SID, query)) == ["OWNER"] * 3

    def test_junction_or(self, api, world) -> None:
        query = (
            "filters[junction]=or&filters[voucher_type][conditions][$is]=GIFT_VOUCHER"
            "&filters[holder_role][conditions][$is]=REFERRER"
        )
        assert kinds(redeemables(api, SID, query)) == [
            ("DISCOUNT_VOUCHER", "REFERRER"),
            ("GIFT_VOUCHER", "OWNER"),
        ]

    def test_junction_and(self, api, world) -> None:
        query = (
            "filters[junction]=AND&filters[voucher_type][conditions][$is]=DISCOUNT_VOUCHER"
            "&filters[holder_role][conditions][$is_not]=OWNER"
        )
        assert kinds(redeemables(api, SID, query)) == [
            ("DISCOUNT_VOUCHER", "REFEREE"),
            ("DISCOUNT_VOUCHER", "REFERRER"),
        ]

    def test_created_at_after_and_before(self, api, world) -> None:
        all_items = redeemables(api, SID, {"order": "id"})["data"]
        middle = all_items[2]["created_at"]
        pivot = datetime.fromisoformat(middle.replace("Z", "+00:00"))
        later = [i["id"] for i in all_items if i["created_at"] > middle]
        earlier = [i["id"] for i in all_items if i["created_at"] < middle]
        assert later
        assert earlier
        # the Python SDK's form: microseconds and an offset without a colon
        py_after = pivot.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        after = redeemables(
            api, SID, {"order": "id", "filters[created_at][conditions][$after]": py_after}
        )
        assert [i["id"] for i in after["data"]] == later
        before = redeemables(
            api, SID, {"order": "id", "filters[created_at][conditions][$before]": middle}
        )
        assert [i["id"] for i in before["data"]] == earlier
        future = iso(datetime.now(UTC) + timedelta(days=1))
        assert (
            redeemables(api, SID, {"filters[created_at][conditions][$after]": future})["total"] == 0
        )
        assert (
            redeemables(api, SID, {"filters[created_at][conditions][$after]": "2000-01-01"})[
                "total"
            ]
            == 5
        )

    def test_created_at_days(self, api, world) -> None:
        recent = {"filters[created_at][conditions][$less_than]": "1"}
        old = {"filters[created_at][conditions][$more_than]": "1"}
        assert redeemables(api, SID, recent)["total"] == 5
        assert redeemables(api, SID, old)["total"] == 0

    def test_text_conditions(self, api, world) -> None:
        club, gift_camp = world["club"]["id"], world["gift_campaign"]["id"]
        card_id = world["card"]["id"]

        def total(params: dict[str, str]) -> int:
            return redeemables(api, SID, params)["total"]

        assert total({"filters[campaign_id][conditions][$starts_with]": "camp_"}) == 4
        assert total({"filters[campaign_id][conditions][$is_unknown]": ""}) == 1
        assert total({"filters[campaign_id][conditions][$has_value]": ""}) == 4
        assert total({"filters[campaign_id][conditions][$is]": club}) == 1
        assert (
            total(
                {
                    "filters[campaign_id][conditions][$in][0]": club,
                    "filters[campaign_id][conditions][$in][1]": gift_camp,
                }
            )
            == 2
        )
        assert total({"filters[campaign_id][conditions][$not_in][0]": club}) == 4
        assert total({"filters[redeemable_id][conditions][$ends_with]": card_id[-10:]}) == 1
        assert total({"filters[redeemable_id][conditions][$contains]": card_id[5:20]}) == 1
        assert total({"filters[redeemable_id][conditions][$not_contain]": card_id[5:20]}) == 4
        first = redeemables(api, SID)["data"][0]["id"]
        assert total({"filters[id][conditions][$is]": first}) == 1
        assert total({"filters[id][conditions][$is_not]": first}) == 4
        assert total({"filters[voucher_type][conditions][$starts_with]": "GIFT"}) == 1
        assert total({"filters[voucher_type][conditions][$ends_with]": "_VOUCHER"}) == 4
        assert total({"filters[campaign_type][conditions][$not_in][0]": "REFERRAL_PROGRAM"}) == 3
        assert total({"filters[redeemable_object][conditions][$is]": "voucher"}) == 5

    def test_filters_combine_with_paging(self, api, world) -> None:
        params = {"filters[voucher_type][conditions][$is]": "DISCOUNT_VOUCHER", "limit": "2"}
        page = redeemables(api, SID, params)
        assert page["total"] == 3
        assert page["has_more"] is True
        rest = redeemables(api, SID, {**params, "starting_after_id": page["more_starting_after"]})
        assert rest["has_more"] is False
        assert len(page["data"]) + len(rest["data"]) == 3
        assert {i["voucher_type"] for i in page["data"] + rest["data"]} == {"DISCOUNT_VOUCHER"}


class TestRedeemablesBadFilters:
    @pytest.mark.parametrize(
        "query",
        [
            "filters[holder_role][conditions][$in][0]=KING",
            "filters[holder_role][conditions][$in]=" + quote("['OWNER', 'KING']"),
            "filters[holder_role][conditions][$contains]=OWN",
            "filters[holder_role][conditions][$bogus]=OWNER",
            "filters[created_at][conditions][$after]=yesterday",
            "filters[created_at][conditions][$more_than]=many",
            "filters[created_at][conditions][$is]=2024-01-01",
            "filters[junction]=xor&filters[holder_role][conditions][$is]=OWNER",
            "filters=x",
            "limit=0",
            "limit=101",
            "limit=ten",
            "order=created_at",
        ],
    )
    def test_400(self, api, query) -> None:
        create_customer(api, source_id="bad-filters")
        response = api.get(f"/v1/customers/bad-filters/redeemables?{query}")
        assert_error(response, 400, "invalid_query_params")


class TestRedeemablesUnknownFilterKeys:
    """The spec's filter objects allow further properties: unknown ones are ignored."""

    @pytest.mark.parametrize(
        "query",
        [
            "filters[nope][conditions][$is]=x",
            "filters[holder_role]=OWNER",
            "filters[customer_id][conditions][$is]=cust_x",
            "filters[holder_role][extra]=1&filters[holder_role][conditions][0]=x",
            "filters[holder_role][conditions][note]=x",
            "filters[id]=",
            "filters[holder_role][conditions][$not_in]=",
            "filters[created_at][conditions][$more_than]=-99999999999999999",
            "filters[created_at][conditions][$less_than]=99999999999999999",
        ],
    )
    def test_ignored(self, api, query) -> None:
        create_customer(api, source_id="odd-filters")
        voucher = create_voucher(api)
        publish(api, "odd-filters", voucher=voucher["code"])
        response = api.get(f"/v1/customers/odd-filters/redeemables?{query}")
        assert response.status_code == 200, response.text
        assert [i["redeemable_id"] for i in response.json()["data"]] == [voucher["id"]]


class TestRedeemablesEmptyIn:
    def test_an_empty_in_list_matches_nothing(self, api) -> None:
        create_customer(api, source_id="empty-in")
        publish(api, "empty-in", voucher=create_voucher(api)["code"])
        page = redeemables(api, "empty-in", "filters[holder_role][conditions][$in]=")
        assert page["total"] == 0
        assert page["data"] == []


class TestRedeemablesPaging:
    @pytest.mark.parametrize("order", ["id", "-id"])
    def test_cursor_walk_has_no_duplicates_or_skips(self, api, order) -> None:
        create_customer(api, source_id="pager")
        for i in range(12):
            create_voucher(api, code=f"PG-{i:02d}")
            publish(api, "pager", voucher=f"PG-{i:02d}")
        every = [i["id"] for i in redeemables(api, "pager", {"limit": 100})["data"]]
        assert len(every) == 12
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 5, "order": order}
            if cursor is not None:
                params["starting_after_id"] = cursor
            page = redeemables(api, "pager", params)
            pages += 1
            assert page["total"] == 12
            seen += [i["id"] for i in page["data"]]
            if not page["has_more"]:
                assert "more_starting_after" not in page
                break
            assert page["more_starting_after"] == page["data"][-1]["id"]
            cursor = page["more_starting_after"]
        assert pages == 3
        assert len(seen) == len(set(seen)) == 12
        assert seen == sorted(every, reverse=order == "-id")

    def test_limit_bounds(self, api) -> None:
        create_customer(api, source_id="bounds")
        for _i in range(3):
            publish(api, "bounds", voucher=create_voucher(api)["code"])
        assert len(redeemables(api, "bounds", {"limit": 1})["data"]) == 1
        assert redeemables(api, "bounds", {"limit": 1})["has_more"] is True
        full = redeemables(api, "bounds", {"limit": 100})
        assert len(full["data"]) == 3
        assert full["has_more"] is False
        assert len(redeemables(api, "bounds")["data"]) == 3

    def test_default_limit_is_10(self, api) -> None:
        create_customer(api, source_id="ten")
        for _ in range(11):
            publish(api, "ten", voucher=create_voucher(api)["code"])
        body = redeemables(api, "ten")
        assert len(body["data"]) == 10
        assert body["total"] == 11
        assert body["has_more"] is True


# --- statuses ---------------------------------------------------------------------------------


class TestRedeemableStatus:
    @pytest.mark.parametrize(
        ("fields", "status"),
        [
            ({}, "ACTIVE"),
            ({"active": False}, "DISABLED"),
            ({"start_date": "2999-01-01T00:00:00Z"}, "NOT_ACTIVE_YET"),
            ({"expiration_date": "2001-01-01T00:00:00Z"}, "EXPIRED"),
            ({"type": "GIFT_VOUCHER", "gift": {"amount": 0}}, "NO_BALANCE"),
            ({"type": "GIFT_VOUCHER", "gift": {"amount": 10}}, "ACTIVE"),
            ({"redemption": {"quantity": 0}}, "USED"),
            ({"redemption": {"quantity": 1}}, "ACTIVE"),
        ],
    )
    def test_status(self, api, fields, status) -> None:
        fields = dict(fields)
        disable = fields.pop("active", True) is False
        v = create_voucher(api, code="ST", **fields)
        publish(api, "st", voucher="ST")
        if disable:
            assert api.post("/v1/vouchers/ST/disable").status_code == 200
        [item] = redeemables(api, "st")["data"]
        assert item["redeemable_id"] == v["id"]
        assert item["redeemable"]["status"] == status

    def test_disable_and_enable_move_the_status(self, api) -> None:
        create_voucher(api, code="TOGGLE")
        publish(api, "toggler", voucher="TOGGLE")
        api.post("/v1/vouchers/TOGGLE/disable")
        assert redeemables(api, "toggler")["data"][0]["redeemable"]["status"] == "DISABLED"
        api.post("/v1/vouchers/TOGGLE/enable")
        assert redeemables(api, "toggler")["data"][0]["redeemable"]["status"] == "ACTIVE"

    def test_expiry_passes(self, api) -> None:
        soon = iso(datetime.now(UTC) + timedelta(milliseconds=1500))
        create_voucher(api, code="SOON", expiration_date=soon)
        publish(api, "expiring", voucher="SOON")
        assert redeemables(api, "expiring")["data"][0]["redeemable"]["status"] == "ACTIVE"
        time.sleep(1.6)
        assert redeemables(api, "expiring")["data"][0]["redeemable"]["status"] == "EXPIRED"


# --- tenancy ----------------------------------------------------------------------------------


class TestCrossProjectIsolation:
    def test_another_projects_key_sees_nothing_and_writes_nothing(
        self, api, other_api, server, project, other_project
    ) -> None:
        customer = create_customer(api, source_id="tenant-a")
        campaign, _referrer, code = referral_setup(api)
        mine = create_voucher(api, code="A-ONLY", metadata={"owner": "a"})
        publish(api, "tenant-a", voucher="A-ONLY")
        before = api.get("/v1/vouchers/A-ONLY").json()
        holders_before = count(server, project, "redeemable_holder")

        assert_error(other_api.get("/v1/vouchers/A-ONLY"), 404, "not_found")
        assert_error(other_api.get(f"/v1/vouchers/{mine['id']}"), 404, "not_found")
        assert_error(
            other_api.put("/v1/vouchers/A-ONLY", json={"metadata": {"owner": "b"}}),
            404,
            "not_found",
        )
        assert_error(other_api.post("/v1/vouchers/A-ONLY/disable"), 404, "not_found")
        assert_error(other_api.delete("/v1/vouchers/A-ONLY"), 404, "not_found")
        assert_error(other_api.get(f"/v1/campaigns/{campaign['id']}"), 404, "not_found")
        assert_error(other_api.get(f"/v1/campaigns/{quote(campaign['name'])}"), 404, "not_found")
        assert_error(
            other_api.post(
                "/v1/publications", json={"voucher": "A-ONLY", "customer": {"source_id": "b-1"}}
            ),
            404,
            "not_found",
        )
        assert_error(
            other_api.post(
                "/v1/publications",
                json={"campaign": {"name": campaign["name"]}, "customer": {"source_id": "b-1"}},
            ),
            404,
            "not_found",
        )
        assert_error(
            other_api.get("/v1/publications/create?voucher=A-ONLY&customer[source_id]=b-1"),
            404,
            "not_found",
        )
        assert_error(add_referees(other_api, code["code"], "b-2"), 404, "not_found")
        assert_error(
            add_referees(other_api, code["code"], "b-2", campaign=campaign["id"]), 404, "not_found"
        )
        assert_error(
            other_api.get(f"/v1/referrals/members/{code['code']}/holders"), 404, "not_found"
        )
        assert_error(
            other_api.post(
                f"/v1/loyalties/{campaign['id']}/members", json={"customer": {"source_id": "b-3"}}
            ),
            404,
            "not_found",
        )
        assert_error(other_api.get("/v1/customers/tenant-a/redeemables"), 404, "not_found")
        assert_error(other_api.get(f"/v1/customers/{customer['id']}/redeemables"), 404, "not_found")
        # B creating a voucher with A's code is its own voucher, not A's.
        theirs = create_voucher(other_api, code="A-ONLY")
        assert theirs["id"] != mine["id"]
        assert theirs["publish"]["count"] == 0

        assert api.get("/v1/vouchers/A-ONLY").json() == before
        assert count(server, project, "redeemable_holder") == holders_before
        assert count(server, other_project, "customer") == 0
        assert count(server, other_project, "redeemable_holder") == 0
        assert count(server, other_project, "publication") == 0
        assert count(server, other_project, "customer_event") == 0
