"""Fixtures for driving the official Voucherify Python SDK (voucherify==6.1.1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import voucherify

if TYPE_CHECKING:
    from tests.conftest import Project, Server


@dataclass
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: Any


@dataclass
class Sdk:
    """A CustomersApi plus a log of every request it put on the wire (after serialisation)."""

    customers: voucherify.CustomersApi
    sent: list[SentRequest] = field(default_factory=list)

    @property
    def last(self) -> SentRequest:
        return self.sent[-1]


def make_sdk(base_url: str, app_id: str, app_token: str) -> Sdk:
    config = voucherify.Configuration(
        host=base_url, api_key={"X-App-Id": app_id, "X-App-Token": app_token}
    )
    client = voucherify.ApiClient(config)
    sdk = Sdk(voucherify.CustomersApi(client))
    rest = client.rest_client
    send = rest.request

    def recording_request(method, url, headers=None, body=None, **kwargs):
        sdk.sent.append(SentRequest(method, url, dict(headers or {}), body))
        return send(method, url, headers=headers, body=body, **kwargs)

    rest.request = recording_request
    return sdk


def _close(sdk: Sdk) -> None:
    sdk.customers.api_client.rest_client.pool_manager.clear()


@pytest.fixture
def sdk(server: Server, project: Project) -> Iterator[Sdk]:
    """The SDK authenticated as this test's own fresh project."""
    client = make_sdk(server.base_url, project.app_id, project.app_token)
    yield client
    _close(client)


@pytest.fixture
def other_sdk(server: Server, other_project: Project) -> Iterator[Sdk]:
    """The SDK authenticated as a second, unrelated project."""
    client = make_sdk(server.base_url, other_project.app_id, other_project.app_token)
    yield client
    _close(client)
