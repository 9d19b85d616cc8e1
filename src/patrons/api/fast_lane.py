"""The hottest customer calls, answered in the Gateway without Litestar's dispatch.

Measured on the 2-core box: Litestar's routing, dependency resolution, signature parsing and
response objects cost more per request than the primary-key lookup itself, which kept
GET /v1/customers/{id} far below the bench baseline (raw ASGI + the same SQL). The lanes call
the same service functions as the Litestar routes, decode requests with the same http.requests
functions (in the same order, so the same input gets the same refusal) and render errors with
the same renderer, so behaviour is identical to the routes (which stay, for the OpenAPI
document, the 405 `Allow` lists and idempotent replays); only the framework is skipped.

Lanes: GET /v1/customers/{id}, GET /v1/customers (the list), POST /v1/customers and
PUT /v1/customers/{id} (issue #16).
"""

from __future__ import annotations

from typing import Any

import msgspec

from patrons.core.errors import PatronsError
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate, CustomerUpdate
from patrons.db.database import Database
from patrons.http.errors import error_body, unexpected
from patrons.http.requests import (
    check_json_type,
    decode_json,
    flat_query,
    header,
    path_id,
    receive_body,
)
from patrons.http.responses import Send, send_json
from patrons.projects.service import Project

ROUTE = "/v1/customers/{customer_id}"  # the templates metrics and logs report
LIST_ROUTE = "/v1/customers"
_ENCODE = msgspec.json.Encoder().encode


def lane(method: str, segments: tuple[str, ...]) -> tuple[str, str | None] | None:
    """(route template, raw id) when a lane answers this call, else None. `segments` is
    http.paths.api_segments of the raw path (one trailing slash ignored, as Litestar does)."""
    if not segments or segments[0] != "customers":
        return None
    if len(segments) == 1:
        if method == "GET" or method == "POST":
            return LIST_ROUTE, None
    elif len(segments) == 2 and segments[1] and (method == "GET" or method == "PUT"):
        return ROUTE, segments[1]
    return None


async def answer(
    scope: dict[str, Any],
    receive: Any,
    send: Send,
    raw_id: str | None,
    *,
    db: Database,
    project: Project,
    request_id: str,
    max_body: int,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> int:
    """Answer the call, with `headers` added to the response's; the status sent."""
    method = scope["method"]
    try:
        if raw_id is None and method == "GET":
            params = flat_query(scope["query_string"])
            result: Any = await customers.list_(db, project_id=project.id, params=params)
        elif raw_id is None:  # POST
            check_json_type(header(scope, b"content-type"))
            create = decode_json(await receive_body(receive, max_body), CustomerCreate)
            result = await customers.upsert_alone(
                db, project_id=project.id, body=create, origin=_origin(project, request_id)
            )
        elif method == "PUT":
            check_json_type(header(scope, b"content-type"))
            update = decode_json(await receive_body(receive, max_body), CustomerUpdate)
            result = await customers.update_alone(
                db,
                project_id=project.id,
                ref=path_id(raw_id, resource="customer"),
                body=update,
                origin=_origin(project, request_id),
            )
        else:
            ref = path_id(raw_id, resource="customer")
            result = await customers.get(db, project_id=project.id, ref=ref)
        status, body = 200, _ENCODE(result)
    except PatronsError as exc:
        status, body = exc.status, error_body(exc, request_id)
    except Exception as exc:
        route = LIST_ROUTE if raw_id is None else ROUTE
        error = unexpected(exc, method, route, request_id)
        status, body = error.status, error_body(error, request_id)
    await send_json(send, status, body, headers)
    return status


def _origin(project: Project, request_id: str) -> Origin:
    """http.requests.origin_of, from what the Gateway knows."""
    return Origin(request_id=request_id, channel="API", app_id=project.app_id)
