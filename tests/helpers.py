"""Assertions shared by the black-box tests."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(response: httpx.Response, status: int, key: str | None) -> dict[str, Any]:
    """`response` is a Voucherify error object with this status and key; returns the body.

    Every error carries `code` = the status, a `message`, and the request id that the
    `X-Request-Id` header also carries (Patrons' `v-` ids).
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == status
    assert body.get("key") == key
    assert body["message"]
    assert body["request_id"].startswith("v-")
    assert body["request_id"] == response.headers["x-request-id"]
    return body
