"""GET /v1/publications over HTTP on both databases (issue 17): the list's shape (the POST
answer's, voucher cut to the spec's list item), newest first, every supported filter, paging,
bad parameters, project isolation, and the official Python SDK's list_publications."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest
import voucherify

from tests.factories import create_campaign, create_customer, create_voucher, publish
from tests.helpers import assert_error
from tests.sdk.conftest import make_sdk


def code() -> str:
    return "P-" + secrets.token_hex(5)


def listed(api: httpx.Client, params: Any = None) -> dict[str, Any]:
    response = api.get("/v1/publications", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    assert body["data_ref"] == "publications"
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [p["id"] for p in body["publications"]]


def publish_apart(api: httpx.Client, customer: str | dict[str, Any], **body: Any) -> dict[str, Any]:
    time.sleep(0.003)  # distinct created_at milliseconds: "newest first" is then one order
    return publish(api, customer, **body)


@pytest.fixture
def world(api: httpx.Client) -> dict[str, Any]:
    """Four publications: two of a discount campaign, a standalone code, a referral code."""
    alice = create_customer(api, source_id="alice-" + secrets.token_hex(3))
    bob = create_customer(api, source_id="bob-" + secrets.token_hex(3))
    coupons = create_campaign(api)
    for _ in range(2):
        api.post(f"/v1/campaigns/{coupons['id']}/vouchers", json={})
    referral = create_campaign(api, campaign_type="REFERRAL_PROGRAM")
    standalone = create_voucher(api, code=code())
    first = publish_apart(
        api, alice["source_id"], campaign={"name": coupons["name"]}, source_id="crm-1"
    )
    second = publish_apart(
        api, bob["source_id"], campaign={"name": coupons["name"]}, channel="Email"
    )
    third = publish_apart(api, alice["source_id"], voucher=standalone["code"], metadata={"k": 1})
    fourth = publish_apart(api, bob["source_id"], campaign={"name": referral["name"]})
    return {
        "alice": alice,
        "bob": bob,
        "coupons": coupons,
        "referral": referral,
        "standalone": standalone,
        "pubs": [first, second, third, fourth],
    }


def test_lists_newest_first_with_the_post_answer_fields(api, world) -> None:
    body = listed(api)
    pubs = world["pubs"]
    assert body["total"] == 4
    assert ids(body) == [p["id"] for p in reversed(pubs)]
    item = body["publications"][1]  # the standalone code, published to alice
    made = pubs[2]
    for key in ("id", "object", "created_at", "customer_id", "tracking_id", "source_id"):
        assert item[key] == made[key], key
    assert item["result"] == "SUCCESS"
    assert item["metadata"] == {"k": 1}
    assert item["customer"] == made["customer"]
    assert item["vouchers_id"] == made["vouchers_id"]
    assert item["voucher"] == {
        "code": made["voucher"]["code"],
        "object": "voucher",
        "campaign": None,
        "discount": made["voucher"]["discount"],
        "is_referral_code": False,
    }
    assert body["publications"][3]["source_id"] == "crm-1"
    assert body["publications"][2]["channel"] == "Email"  # the channel as sent
    assert body["publications"][0]["voucher"]["is_referral_code"] is True
    assert body["publications"][0]["voucher"]["campaign"] == world["referral"]["name"]


def test_each_filter(api, world) -> None:
    first, second, third, fourth = (p["id"] for p in world["pubs"])
    alice, bob = world["alice"], world["bob"]
    coupons, standalone = world["coupons"], world["standalone"]
    cases: list[tuple[Any, list[str]]] = [
        ({"campaign": coupons["name"]}, [second, first]),
        ({"campaign": "no such campaign"}, []),
        ({"customer": alice["id"]}, [third, first]),
        ({"customer": bob["source_id"]}, [fourth, second]),
        ({"customer": "cust_nobody"}, []),
        ({"voucher": standalone["code"]}, [third]),
        ({"source_id": "crm-1"}, [first]),
        ({"result": "SUCCESS"}, [fourth, third, second, first]),
        ({"result": "FAILURE"}, []),
        ({"voucher_type": "discount"}, [fourth, third, second, first]),
        ({"voucher_type": "loyalty"}, []),
        ({"is_referral_code": "true"}, [fourth]),
        ({"is_referral_code": "false"}, [fourth, third, second, first]),
        ({"campaign": coupons["name"], "customer": bob["id"]}, [second]),
        ({"order": "created_at"}, [first, second, third, fourth]),
        (
            [
                ("filters[customer_id][conditions][$in][0]", alice["id"]),
                ("filters[customer_id][conditions][$in][1]", "cust_other"),
            ],
            [third, first],
        ),
        ([("filters[campaign_name][conditions][$is_not]", coupons["name"])], [fourth, third]),
        ([("filters[source_id][conditions][$is]", "crm-1")], [first]),
        ([("filters[result][conditions][$is]", "FAILURE")], []),
        ([("filters[result][conditions][$not_in][0]", "FAILURE")], [fourth, third, second, first]),
        ([("filters[voucher_type][conditions][$is]", "loyalty")], []),
        ([("filters[parent_object_id][conditions][$is]", coupons["id"])], [second, first]),
        (
            [("filters[related_object_id][conditions][$is]", world["pubs"][2]["vouchers_id"][0])],
            [third],
        ),
        (
            [
                ("filters[junction]", "and"),
                ("filters[customer_id][conditions][$is]", bob["id"]),
                ("filters[campaign_name][conditions][$is]", coupons["name"]),
            ],
            [second],
        ),
    ]
    for params, expected in cases:
        body = listed(api, params)
        assert ids(body) == expected, params
        assert body["total"] == len(expected), params


def test_order_keys(api, world) -> None:
    body = listed(api, {"order": "-customer_id"})
    customers = [p["customer_id"] for p in body["publications"]]
    assert customers == sorted(customers, reverse=True)
    body = listed(api, {"order": "voucher_code"})
    codes = [p["voucher"]["code"] for p in body["publications"]]
    assert codes == sorted(codes)
    body = listed(api, {"order": "id"})
    assert ids(body) == sorted(ids(body))


def test_paging(api, world) -> None:
    newest_first = [p["id"] for p in reversed(world["pubs"])]
    pages = [listed(api, {"limit": 3, "page": page}) for page in (1, 2, 3)]
    assert [ids(p) for p in pages] == [newest_first[:3], newest_first[3:], []]
    assert {p["total"] for p in pages} == {4}
    assert len(listed(api)["publications"]) == 4  # default limit 10


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=ten",
        "page=0",
        "page=101",
        "order=name",
        "result=MAYBE",
        "voucher_type=gift",
        "is_referral_code=yes",
        "filters[junction]=OR",
        "filters[failure_code][conditions][$is]=x",
        "filters[customer_id][conditions][$contains]=x",
        "filters[customer_id]=x",
    ],
)
def test_bad_parameters(api, query) -> None:
    assert_error(api.get(f"/v1/publications?{query}"), 400, "invalid_query_params")


def test_another_projects_publications_are_never_listed(api, other_api, world) -> None:
    assert listed(other_api) == {
        "object": "list",
        "data_ref": "publications",
        "publications": [],
        "total": 0,
    }
    mine = publish(other_api, "someone", voucher=create_voucher(other_api, code=code())["code"])
    assert ids(listed(other_api)) == [mine["id"]]
    assert mine["id"] not in ids(listed(api))
    assert listed(other_api, {"customer": world["alice"]["id"]})["total"] == 0
    assert listed(other_api, {"campaign": world["coupons"]["name"]})["total"] == 0


@pytest.mark.sdk
def test_python_sdk_list_publications(server, project, api, world) -> None:
    sdk = make_sdk(server.base_url, project.app_id, project.app_token)
    try:
        publications = voucherify.PublicationsApi(sdk.customers.api_client)
        answer = publications.list_publications(limit=2, page=1, order="-created_at")
        assert answer.total == 4
        assert [p.id for p in answer.publications] == [p["id"] for p in world["pubs"][:1:-1]]
        newest = answer.publications[0]
        assert newest.result == "SUCCESS"
        assert newest.voucher.is_referral_code is True
        assert newest.customer.id == world["bob"]["id"]
        filtered = publications.list_publications(
            customer=world["alice"]["id"], campaign=world["coupons"]["name"], result="SUCCESS"
        )
        assert [p.id for p in filtered.publications] == [world["pubs"][0]["id"]]
        assert publications.list_publications(is_referral_code=True).total == 1
        assert publications.list_publications(voucher_type="loyalty").total == 0
    finally:
        sdk.customers.api_client.rest_client.pool_manager.clear()
