"""The one renderer: every failure becomes Voucherify's error object (WIRE-FORMAT §2.4)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from patrons.core.errors import (
    InternalError,
    InvalidPayload,
    MethodNotAllowed,
    PatronsError,
    PayloadTooLarge,
    RouteNotFound,
)

log = logging.getLogger("patrons.api")

JSON = "application/json; charset=utf-8"


def error_body(exc: PatronsError, request_id: str | None) -> bytes:
    if isinstance(exc, PayloadTooLarge):
        # Voucherify answers oversized bodies in its framework's (boom) shape.
        body: dict[str, Any] = {
            "statusCode": 413,
            "error": exc.message,
            "message": exc.details,
        }
        if request_id:
            body["request_id"] = request_id
        return msgspec.json.encode(body)
    body = {"code": exc.status}
    if exc.key:
        body["key"] = exc.key
    body["message"] = exc.message
    if exc.details:
        body["details"] = exc.details
    if request_id:
        body["request_id"] = request_id
    if exc.resource_id is not None:
        body["resource_id"] = exc.resource_id
    if exc.resource_type is not None:
        body["resource_type"] = exc.resource_type
    return msgspec.json.encode(body)


def _translate(request: Request, exc: Exception, *, max_body: int) -> PatronsError:
    if isinstance(exc, PatronsError):
        return exc
    if isinstance(exc, NotFoundException):
        return RouteNotFound(f"Cannot {request.method} {request.url.path}")
    if isinstance(exc, MethodNotAllowedException):
        allowed = (exc.headers or {}).get("allow", "")
        options = " or ".join(
            m.strip() for m in allowed.split(",") if m.strip() not in ("HEAD", "OPTIONS")
        )
        hint = f" Did you mean {options}?" if options else ""
        return MethodNotAllowed(f"{request.method} is not supported by this endpoint.{hint}")
    if isinstance(exc, RequestEntityTooLarge):
        return PayloadTooLarge(max_body)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        error = InvalidPayload(str(exc.detail))
        error.status = exc.status_code
        return error
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return InternalError("An unexpected error occurred. The request id identifies it in the logs.")


def exception_handler(max_body: int):  # type: ignore[no-untyped-def]
    def handle(request: Request, exc: Exception) -> Response[bytes]:
        error = _translate(request, exc, max_body=max_body)
        request_id = request.scope.get("patrons_request_id")  # type: ignore[call-overload]
        headers = (
            {"allow": exc.headers["allow"]}
            if isinstance(exc, MethodNotAllowedException) and exc.headers
            else None
        )
        return Response(
            content=error_body(error, request_id),
            status_code=error.status,
            media_type=JSON,
            headers=headers,
        )

    return handle
