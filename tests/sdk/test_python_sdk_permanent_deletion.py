"""The official Python SDK's customer_permanently_deletion against Patrons (no request body)."""

from __future__ import annotations

import pytest
from voucherify import CustomersCreateRequestBody, CustomersPermanentDeletionCreateResponseBody
from voucherify.exceptions import NotFoundException

from tests.sdk.conftest import Sdk


class TestPermanentDeletion:
    def test_erases_by_source_id_and_parses(self, sdk: Sdk) -> None:
        created = sdk.customers.create_customer(
            CustomersCreateRequestBody(source_id="sdk erase/1@x", name="Gone", email="g@x.org")
        )
        erased = sdk.customers.customer_permanently_deletion("sdk erase/1@x")
        sent = sdk.last
        assert sent.method == "POST"
        assert sent.url.endswith("/v1/customers/sdk%20erase%2F1%40x/permanent-deletion")
        assert sent.body is None  # the Python SDK sends no body at all
        assert isinstance(erased, CustomersPermanentDeletionCreateResponseBody)
        assert erased.id.startswith("del_")
        assert erased.related_object_id == created.id
        assert erased.related_object == "customer"
        assert erased.status == "DONE"
        assert erased.object == "pernament_deletion"
        assert erased.created_at is not None
        assert erased.data_json.customer == 1
        assert erased.data_json.customer_events == 1
        assert erased.data_json.orders == 0
        with pytest.raises(NotFoundException):
            sdk.customers.get_customer(created.id)

    def test_unknown_customer_raises_not_found(self, sdk: Sdk) -> None:
        with pytest.raises(NotFoundException) as info:
            sdk.customers.customer_permanently_deletion("nobody-here")
        assert info.value.status == 404

    def test_other_projects_customer_is_not_found(self, sdk: Sdk, other_sdk: Sdk) -> None:
        theirs = other_sdk.customers.create_customer(CustomersCreateRequestBody(source_id="t"))
        with pytest.raises(NotFoundException):
            sdk.customers.customer_permanently_deletion(theirs.id)
        assert other_sdk.customers.get_customer(theirs.id).id == theirs.id
