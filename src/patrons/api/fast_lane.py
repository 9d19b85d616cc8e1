"""The hottest read, answered in the Gateway without Litestar's dispatch.

Measured on the 2-core box: Litestar's routing, dependency resolution, signature parsing and
response objects cost more per request than the primary-key lookup itself, which kept
GET /v1/customers/{id} far below the bench baseline (raw ASGI + the same SQL). This lane calls
the same service function and renders errors with the same renderer, so behaviour is identical
to the Litestar route (which stays for the OpenAPI document); only the framework is skipped.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

from patrons.api.errors import JSON, error_body
from patrons.core.errors import InternalError, PatronsError
from patrons.core.paths import decode_path_id
from patrons.customers import service as customers
from patrons.db.database import Database
from patrons.projects.service import Project

log = logging.getLogger("patrons.api")

_CUSTOMER = re.compile(r"^/v1/customers/([^/]+)/?$")
ROUTE = "/v1/customers/{customer_id}"  # the template metrics and logs report
_ENCODE = msgspec.json.Encoder().encode
_CONTENT_TYPE = (b"content-type", JSON.encode())


def matches(scope: dict[str, Any]) -> re.Match[str] | None:
    if scope["method"] != "GET":
        return None
    return _CUSTOMER.match(scope["path"])


async def get_customer(
    match: re.Match[str], send: Any, *, db: Database, project: Project, request_id: str
) -> None:
    try:
        customer = await customers.get(db, project_id=project.id, ref=decode_path_id(match[1]))
        status, body = 200, _ENCODE(customer)
    except PatronsError as exc:
        status, body = exc.status, error_body(exc, request_id)
    except Exception:
        log.exception("unhandled error on GET %s", match[0])
        error = InternalError("An unexpected error occurred. The request id identifies it.")
        status, body = 500, error_body(error, request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
