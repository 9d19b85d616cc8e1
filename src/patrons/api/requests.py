"""Request helpers shared by every router: dependencies, JSON bodies, query strings."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec
from litestar import Request

from patrons.core.errors import InvalidPayload, InvalidQueryParams, UnsupportedMediaType
from patrons.core.origin import Origin
from patrons.core.querystring import parse_flat
from patrons.db.database import Database
from patrons.projects.service import Project

T = TypeVar("T")

_AT = re.compile(r"^(.*) - at `\$(.*)`$")


def provide_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def provide_project(request: Request, db: Database) -> Project:
    # `db` is unused, but depending on it puts the two dependencies in separate batches:
    # Litestar resolves a batch of several dependencies in an anyio task group, which cost
    # more than the whole primary-key lookup in the benchmark's profile.
    del db
    return request.scope["patrons_project"]  # type: ignore[typeddict-item]


def origin_of(request: Request, project: Project) -> Origin:
    """Who is asking: the request id and key behind the events this request records."""
    return Origin(
        request_id=request.scope.get("patrons_request_id"),  # type: ignore[call-overload]
        channel="API",
        app_id=project.app_id,
    )


def query_params(request: Request) -> dict[str, str]:
    """Flat query parameters with percent-encoded bracket keys decoded (`created_at[before]`)."""
    params = parse_flat(request.scope["query_string"])
    for name, value in params.items():
        if "\x00" in value or "\x00" in name:
            raise InvalidQueryParams(f"Property .{name} must not contain the NUL character")
    return params


def validation_details(error: msgspec.MsgspecError) -> str:
    """msgspec's message in Voucherify's style: `Property .email: Expected str | null, got int`."""
    message = str(error)
    match = _AT.match(message)
    if match is None:
        return f"Payload: {message}".replace("`", "")
    problem, path = match.groups()
    return f"Property {path or '.'}: {problem}".replace("`", "")


async def read_json(request: Request, kind: type[T]) -> T:
    content_type = request.headers.get("content-type")
    if content_type and not _is_json(content_type):
        raise UnsupportedMediaType(f"Content-Type {content_type.split(';')[0]} is not supported")
    body = await request.body()
    if not body.strip():
        raise InvalidPayload("Payload must be a JSON object")
    if b"\\u0000" in body:
        # Neither database stores NUL in text; refuse it up front instead of failing later.
        raise InvalidPayload("Payload: strings must not contain the NUL character (\\u0000)")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.MsgspecError as exc:
        raise InvalidPayload(validation_details(exc)) from None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
