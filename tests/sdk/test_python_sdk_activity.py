"""ListCustomerActivity through the official Python SDK: strict models parse every event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import voucherify

pytestmark = pytest.mark.sdk


def _make(sdk, source_id: str, updates: int) -> None:
    sdk.customers.create_customer(
        voucherify.CustomersCreateRequestBody(source_id=source_id, name="Ada")
    )
    for i in range(updates):
        sdk.customers.update_customer(
            source_id, voucherify.CustomersUpdateRequestBody(name=f"Ada {i}")
        )


def test_events_parse_and_page(sdk) -> None:
    _make(sdk, "sdk-act", 4)
    first = sdk.customers.list_customer_activity("sdk-act", limit=2)
    assert first.object == "list"
    assert first.has_more is True
    assert [e.type for e in first.data] == ["customer.updated", "customer.updated"]
    assert isinstance(first.data[0].created_at, datetime)
    assert first.data[0].group_id.startswith("v-")
    seen = [e.id for e in first.data]
    cursor = first.more_starting_after
    while cursor:
        page = sdk.customers.list_customer_activity("sdk-act", limit=2, starting_after_id=cursor)
        seen += [e.id for e in page.data]
        cursor = page.more_starting_after if page.has_more else None
    assert len(seen) == len(set(seen)) == 5
    oldest = sdk.customers.list_customer_activity("sdk-act", order="created_at", limit=1)
    assert oldest.data[0].type == "customer.created"
    assert oldest.data[0].data["data"]["customer"]["name"] == "Ada"


def test_filters_with_sdk_types(sdk) -> None:
    _make(sdk, "sdk-act-2", 2)
    now = datetime.now(UTC)
    created = sdk.customers.list_customer_activity("sdk-act-2", type="customer.created")
    assert [e.type for e in created.data] == ["customer.created"]
    window = sdk.customers.list_customer_activity(
        "sdk-act-2",
        start_date=now - timedelta(minutes=5),
        end_date=now + timedelta(minutes=5),
        category="ACTION",
        limit=100,
    )
    assert len(window.data) == 3
    assert sdk.customers.list_customer_activity("sdk-act-2", category="EFFECT").data == []


def test_unknown_customer_is_404(sdk) -> None:
    with pytest.raises(voucherify.ApiException) as raised:
        sdk.customers.list_customer_activity("nobody-here")
    assert raised.value.status == 404


def test_other_project_gets_404(sdk, other_sdk) -> None:
    _make(sdk, "sdk-act-3", 0)
    with pytest.raises(voucherify.ApiException) as raised:
        other_sdk.customers.list_customer_activity("sdk-act-3")
    assert raised.value.status == 404
