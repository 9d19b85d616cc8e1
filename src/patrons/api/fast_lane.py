"""The hottest read, answered in the Gateway without Litestar's dispatch.

Measured on the 2-core box: Litestar's routing, dependency resolution, signature parsing and
response objects cost more per request than the primary-key lookup itself, which kept
GET /v1/customers/{id} far below the bench baseline (raw ASGI + the same SQL). This lane calls
the same service function and renders errors with the same renderer, so behaviour is identical
to the Litestar route (which stays for the OpenAPI document); only the framework is skipped.
"""

from __future__ import annotations

import msgspec

from patrons.core.errors import PatronsError
from patrons.customers import service as customers
from patrons.db.database import Database
from patrons.http.errors import error_body, unexpected
from patrons.http.requests import path_id
from patrons.http.responses import Send, send_json
from patrons.projects.service import Project

ROUTE = "/v1/customers/{customer_id}"  # the template metrics and logs report
_ENCODE = msgspec.json.Encoder().encode


async def get_customer(
    raw_id: str, send: Send, *, db: Database, project: Project, request_id: str
) -> None:
    """`raw_id` is the path segment as sent (http.paths.customer_read picked the route)."""
    try:
        ref = path_id(raw_id, resource="customer")
        customer = await customers.get(db, project_id=project.id, ref=ref)
        status, body = 200, _ENCODE(customer)
    except PatronsError as exc:
        status, body = exc.status, error_body(exc, request_id)
    except Exception as exc:
        error = unexpected(exc, "GET", ROUTE, request_id)
        status, body = error.status, error_body(error, request_id)
    await send_json(send, status, body)
