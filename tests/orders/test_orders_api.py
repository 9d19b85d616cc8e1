"""/v1/orders over HTTP on both databases: create (upsert by source_id), get by id or
source_id, update, list, the customer's summary.orders and order events (issue 17)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import create_customer, db_fetch
from tests.helpers import assert_error

ORDER_ID = re.compile(r"^ord_[A-Za-z0-9]{24}$")


def create_order(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/orders", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def customer(api: httpx.Client, ref: str) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{ref}")
    assert response.status_code == 200, response.text
    return response.json()


def event_types(api: httpx.Client, customer_id: str) -> list[str]:
    body = api.get(f"/v1/customers/{customer_id}/activity", params={"limit": 100}).json()
    return sorted(e["type"] for e in body["data"])


class TestCreate:
    def test_an_order_with_an_inline_new_customer(self, api: httpx.Client):
        order = create_order(
            api,
            amount=1000,
            currency="USD",
            source_id="ord-src-1",
            customer={"name": "Test Customer", "email": "t@example.com"},
            customer_id=None,
            items=None,
        )

        assert ORDER_ID.match(order["id"])
        assert order["object"] == "order"
        assert (order["status"], order["amount"], order["total_amount"]) == ("CREATED", 1000, 1000)
        assert order["source_id"] == "ord-src-1"
        assert order["customer"] == {"id": order["customer_id"], "object": "customer"}
        buyer = customer(api, order["customer_id"])
        assert buyer["email"] == "t@example.com"
        assert event_types(api, buyer["id"]) == ["customer.created", "customer.order.created"]

    def test_items_sum_to_the_amount(self, api: httpx.Client):
        order = create_order(
            api,
            items=[
                {"source_id": "sku-1", "related_object": "sku", "quantity": 2, "price": 1500},
                {"product_id": "prod_1", "quantity": 1, "amount": 700},
            ],
        )

        assert order["amount"] == 3700
        assert [i["amount"] for i in order["items"]] == [3000, 700]
        assert {i["object"] for i in order["items"]} == {"order_item"}

    def test_a_known_source_id_updates_that_order(self, api: httpx.Client):
        first = create_order(api, source_id="same-order", amount=100)

        again = create_order(api, source_id="same-order", amount=250, status="PAID")

        assert again["id"] == first["id"]
        assert (again["amount"], again["status"]) == (250, "PAID")
        assert again["updated_at"] is not None

    def test_the_customer_by_source_id_is_created_once(self, api: httpx.Client):
        a = create_order(api, customer={"source_id": "buyer-1"})
        b = create_order(api, customer={"source_id": "buyer-1"})

        assert a["customer_id"] == b["customer_id"]

    def test_an_unknown_customer_id_is_a_404_and_writes_nothing(self, server, api, project):
        response = api.post(
            "/v1/orders", json={"source_id": "never", "customer": {"id": "cust_nobody"}}
        )

        assert_error(response, 404, "not_found")
        rows = db_fetch(
            server.backend.url, "SELECT id FROM orders WHERE project_id = $1", project.id
        )
        assert rows == []

    @pytest.mark.parametrize(
        "body",
        [
            {"amount": -1},
            {"amount": "ten"},
            {"status": "SHIPPED"},
            {"items": [{"quantity": -2, "price": 10}]},
            {"items": "none"},
            {"metadata": [1]},
            {"customer": {"email": 5}},
            {"amount": 10**19},  # beyond a BIGINT: refused before SQL
            {"items": [{"quantity": 10**12, "price": 10**12}]},
            {"source_id": "s" * 600},
        ],
    )
    def test_bad_input_is_a_400_and_writes_nothing(self, server, api, project, body):
        response = api.post("/v1/orders", json={"source_id": "bad-order", **body})

        assert_error(response, 400, "invalid_payload")
        rows = db_fetch(
            server.backend.url, "SELECT id FROM orders WHERE project_id = $1", project.id
        )
        assert rows == []


class TestGetAndUpdate:
    def test_get_by_id_and_by_source_id(self, api: httpx.Client):
        order = create_order(api, source_id="by/source id", amount=5)

        assert api.get(f"/v1/orders/{order['id']}").json()["id"] == order["id"]
        assert api.get("/v1/orders/by%2Fsource%20id").json()["id"] == order["id"]

    def test_unknown_order_is_a_404(self, api: httpx.Client):
        assert_error(api.get("/v1/orders/ord_missing"), 404, "not_found")
        assert_error(api.put("/v1/orders/ord_missing", json={"status": "PAID"}), 404, "not_found")

    def test_another_projects_order_is_a_404(self, api: httpx.Client, other_api: httpx.Client):
        order = create_order(api, source_id="mine", amount=5)

        assert_error(other_api.get(f"/v1/orders/{order['id']}"), 404, "not_found")
        assert_error(other_api.get("/v1/orders/mine"), 404, "not_found")
        put = other_api.put(f"/v1/orders/{order['id']}", json={"status": "PAID"})
        assert_error(put, 404, "not_found")
        assert other_api.get("/v1/orders").json()["total"] == 0
        assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "CREATED"

    def test_update_keeps_absent_fields(self, api: httpx.Client):
        order = create_order(api, amount=900, metadata={"a": 1})

        updated = api.put(f"/v1/orders/{order['id']}", json={"status": "PAID", "amount": None})

        assert updated.status_code == 200, updated.text
        body = updated.json()
        assert (body["status"], body["amount"], body["metadata"]) == ("PAID", 900, {"a": 1})

    def test_a_bad_update_changes_nothing(self, api: httpx.Client):
        order = create_order(api, amount=900)

        assert_error(
            api.put(f"/v1/orders/{order['id']}", json={"status": "LOST"}), 400, "invalid_payload"
        )
        assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "CREATED"


class TestSummary:
    def test_only_paid_and_fulfilled_orders_count(self, api: httpx.Client):
        buyer = create_customer(api)
        ref = {"id": buyer["id"]}
        create_order(api, customer=ref, amount=1000, status="PAID")
        create_order(api, customer=ref, amount=3000, status="FULFILLED")
        create_order(api, customer=ref, amount=7000)  # CREATED: not counted
        create_order(api, customer=ref, amount=5000, status="CANCELED")

        orders = customer(api, buyer["id"])["summary"]["orders"]

        assert orders["total_amount"] == 4000
        assert orders["total_count"] == 2
        assert orders["average_amount"] == 2000
        assert orders["last_order_amount"] == 3000
        assert orders["last_order_date"].endswith("Z")

    def test_paying_an_order_moves_the_summary_and_records_events(self, api: httpx.Client):
        buyer = create_customer(api)
        order = create_order(api, customer={"id": buyer["id"]}, amount=1500)
        assert customer(api, buyer["id"])["summary"]["orders"]["total_count"] == 0

        api.put(f"/v1/orders/{order['id']}", json={"status": "PAID"})

        summary = customer(api, buyer["id"])["summary"]
        assert summary["orders"]["total_amount"] == 1500
        assert summary["redemptions"]["total_redeemed"] == 0
        assert event_types(api, buyer["id"]) == [
            "customer.created",
            "customer.order.created",
            "customer.order.paid",
            "customer.order.updated",
        ]

    def test_moving_an_order_to_another_customer_moves_its_amount(self, api: httpx.Client):
        a, b = create_customer(api), create_customer(api)
        order = create_order(api, customer={"id": a["id"]}, amount=800, status="PAID")

        api.put(f"/v1/orders/{order['id']}", json={"customer_id": b["id"]})

        assert customer(api, a["id"])["summary"]["orders"]["total_count"] == 0
        assert customer(api, b["id"])["summary"]["orders"]["total_amount"] == 800


class TestList:
    def test_pages_oldest_first_with_the_total(self, api: httpx.Client):
        orders = [create_order(api, amount=i) for i in range(3)]
        # Oldest first; orders made in the same millisecond are ordered by id (as the SQL).
        made = [o["id"] for o in sorted(orders, key=lambda o: (o["created_at"], o["id"]))]

        first = api.get("/v1/orders", params={"limit": 2}).json()
        second = api.get("/v1/orders", params={"limit": 2, "page": 2}).json()
        newest = api.get("/v1/orders", params={"limit": 1, "order": "-created_at"}).json()

        assert (first["object"], first["data_ref"], first["total"]) == ("list", "orders", 3)
        assert [o["id"] for o in first["orders"] + second["orders"]] == made
        assert newest["orders"][0]["id"] == made[-1]

    @pytest.mark.parametrize(
        "params", [{"limit": "0"}, {"limit": "101"}, {"page": "0"}, {"order": "amount"}]
    )
    def test_bad_parameters_are_a_400(self, api: httpx.Client, params):
        assert_error(api.get("/v1/orders", params=params), 400, "invalid_query_params")


class TestErasure:
    def test_a_deleted_customers_orders_stay_anonymised(self, api: httpx.Client):
        buyer = create_customer(api)
        order = create_order(api, customer={"id": buyer["id"]}, amount=100, status="PAID")

        response = api.post(f"/v1/customers/{buyer['id']}/permanent-deletion")
        assert response.status_code == 200, response.text

        kept = api.get(f"/v1/orders/{order['id']}").json()
        assert kept["customer_id"] is None
        assert "customer" not in kept
        assert kept["amount"] == 100
