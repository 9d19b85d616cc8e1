"""The one renderer: every failure becomes Voucherify's error object (WIRE-FORMAT §2.4).

Every path that answers uses it — Litestar's exception handler, the Gateway's own refusals
(auth, body size, rate limits) and the fast lane — so an error looks the same whichever path
produced it, and an unexpected exception is always the same 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from patrons.core.errors import (
    InternalError,
    InvalidPayload,
    MethodNotAllowed,
    PatronsError,
    PayloadTooLarge,
    RouteNotFound,
)
from patrons.http.requests import request_id_of
from patrons.http.responses import JSON, Send, send_json

log = logging.getLogger("patrons.api")

INTERNAL_DETAILS = "An unexpected error occurred. The request id identifies it in the logs."


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


def unexpected(
    exc: BaseException, method: str, route: str, request_id: str | None = None
) -> InternalError:
    """Log an exception nobody expected; the client gets the one 500, never the trace.

    The log names the route *template* and the request id, never the raw path (an e-mail
    used as a source_id would land in the logs, which a permanent deletion cannot erase);
    the formatter (observability) drops exception messages, which may quote values.
    """
    log.error(
        "unhandled error on %s %s",
        method,
        route,
        exc_info=exc,
        extra={"fields": {"route": route, "request_id": request_id}},
    )
    return InternalError(INTERNAL_DETAILS)


def to_error(
    exc: Exception,
    *,
    method: str,
    path: str,
    max_body: int,
    route: str = "unmatched",
    request_id: str | None = None,
) -> PatronsError:
    """Any exception as the PatronsError it is answered with (Litestar's own included).

    `path` (as sent) may only reach the client's own answer; logs get `route`."""
    if isinstance(exc, PatronsError):
        return exc
    if isinstance(exc, NotFoundException):
        return RouteNotFound(f"Cannot {method} {path}")
    if isinstance(exc, MethodNotAllowedException):
        allowed = (exc.headers or {}).get("allow", "")
        options = " or ".join(
            m.strip() for m in allowed.split(",") if m.strip() not in ("HEAD", "OPTIONS")
        )
        hint = f" Did you mean {options}?" if options else ""
        return MethodNotAllowed(f"{method} is not supported by this endpoint.{hint}")
    if isinstance(exc, RequestEntityTooLarge):
        return PayloadTooLarge(max_body)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        error = InvalidPayload(str(exc.detail))
        error.status = exc.status_code
        return error
    return unexpected(exc, method, route, request_id)


async def send_error(
    send: Send,
    exc: PatronsError,
    request_id: str | None,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An error answered over raw ASGI (the Gateway's refusals, the fast lane)."""
    await send_json(send, exc.status, error_body(exc, request_id), headers)


def exception_handler(
    max_body: int,
) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """Litestar's handler for every exception a route raises (and its routing errors)."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        request_id = request_id_of(request)
        error = to_error(
            exc,
            method=request.method,
            path=request.url.path,
            max_body=max_body,
            route=str(request.scope.get("path_template") or "unmatched"),
            request_id=request_id,
        )
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
