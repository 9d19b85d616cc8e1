"""Custom events and consents through the official Python SDK (voucherify 6.1.1, issue 18):
EventsApi.track_custom_event, the activity it records (type filter) and a customer carrying
consents in `system_metadata` parse into the SDK's strict models. The SDK has no consent
calls (they left the spec); consents are set here with plain HTTP."""

from __future__ import annotations

import httpx
import pytest
import voucherify

pytestmark = pytest.mark.sdk


def test_track_custom_event_with_an_inline_customer(sdk) -> None:
    events = voucherify.EventsApi(sdk.customers.api_client)

    answer = events.track_custom_event(
        voucherify.EventsCreateRequestBody(
            event="cart_abandoned",
            customer=voucherify.Customer(source_id="sdk-ev", name="Ada", metadata={"k": 1}),
            metadata={"flag": True},
            loyalty=voucherify.EventsCreateRequestBodyLoyalty(code="L-1"),
        )
    )

    assert isinstance(answer, voucherify.EventsCreateResponseBody)
    assert (answer.object, answer.type) == ("event", "cart_abandoned")
    assert answer.customer.source_id == "sdk-ev"
    assert answer.customer.metadata == {"k": 1}
    assert (answer.referral, answer.loyalty, answer.metadata) == (None, None, {"flag": True})
    listed = sdk.customers.list_customer_activity("sdk-ev", type="customer.custom_event")
    assert [e.type for e in listed.data] == ["customer.custom_event"]
    assert listed.data[0].data["data"]["event"]["type"] == "cart_abandoned"
    assert listed.data[0].data["data"]["event"]["metadata"] == {"flag": True}


def test_an_unknown_customer_id_is_a_404(sdk) -> None:
    events = voucherify.EventsApi(sdk.customers.api_client)
    with pytest.raises(voucherify.ApiException) as raised:
        events.track_custom_event(
            voucherify.EventsCreateRequestBody(
                event="x", customer=voucherify.Customer(id="cust_nobody")
            )
        )
    assert raised.value.status == 404


def test_a_customer_with_consents_parses(sdk, api: httpx.Client) -> None:
    sdk.customers.create_customer(voucherify.CustomersCreateRequestBody(source_id="sdk-cs"))
    response = api.put("/v1/customers/sdk-cs/consents", json={"cnst_a": True, "cnst_b": False})
    assert response.status_code == 204, response.text

    got = sdk.customers.get_customer("sdk-cs")

    consents = got.system_metadata["consents"]
    assert {k: v["value"] for k, v in consents.items()} == {"cnst_a": True, "cnst_b": False}
    listed = sdk.customers.list_customers(limit=10)
    assert listed.customers[0].system_metadata["consents"]["cnst_a"]["value"] is True
