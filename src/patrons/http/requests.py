"""Request decoding for every router: dependencies, path ids, query strings, JSON and form bodies.

NUL is refused here, once, as a request is decoded: neither database stores it in text
(PostgreSQL refuses the query outright), so no value carrying one may reach a service. A path
id with NUL names nothing (404); a query or body value with NUL is a 400.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from patrons.core.errors import (
    InvalidPayload,
    InvalidQueryParams,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from patrons.core.limits import JSON_MAX_DEPTH
from patrons.core.origin import Origin
from patrons.core.paths import decode_path_id
from patrons.core.querystring import parse_flat, parse_nested
from patrons.db.database import Database

if TYPE_CHECKING:
    from patrons.projects.service import Project

T = TypeVar("T")
AnyRequest = Request[Any, Any, Any]

_AT = re.compile(r"^(.*) - at `\$(.*)`$")
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_FIELDS = 16
# A JSON string (escapes included), and an innermost empty pair of brackets.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_EMPTY_PAIR = re.compile(rb"\{\}|\[\]")
TOO_DEEP = f"Payload must NOT be nested more than {JSON_MAX_DEPTH} levels deep"


# --- dependencies ------------------------------------------------------------------------------


def provide_db(request: AnyRequest) -> Database:
    return request.app.state.db


def provide_project(request: AnyRequest, db: Database) -> Project:
    # `db` is unused, but depending on it puts the two dependencies in separate batches:
    # Litestar resolves a batch of several dependencies in an anyio task group, which cost
    # more than the whole primary-key lookup in the benchmark's profile.
    del db
    return request.scope["patrons_project"]  # type: ignore[typeddict-item]


def request_id_of(request: AnyRequest) -> str | None:
    """The id the Gateway gave this request (`v-…`), kept in the ASGI scope."""
    value = request.scope.get("patrons_request_id")
    return value if isinstance(value, str) else None


def origin_of(request: AnyRequest, project: Project) -> Origin:
    """Who is asking: the request id and key behind the events this request records."""
    return Origin(
        request_id=request_id_of(request),
        channel="API",
        app_id=project.app_id,
    )


# --- path parameters ---------------------------------------------------------------------------


def path_id(raw: str, *, resource: str) -> str:
    """A path segment naming a stored `resource`, percent-decoded exactly once; with NUL it
    can name nothing, so it is that resource's 404 before any query runs."""
    value = decode_path_id(raw)
    if "\x00" in value:
        raise NotFound(resource, value)
    return value


def path_value(raw: str, *, name: str) -> str:
    """A path segment that is a new value (a code to create): NUL in it is a 400."""
    value = decode_path_id(raw)
    if "\x00" in value:
        raise InvalidPayload(f"Property .{name} must not contain the NUL character")
    return value


# --- query strings -----------------------------------------------------------------------------


def _refuse_nul(query: bytes) -> None:
    # NUL arrives percent-encoded (or, from a lax client, raw): a byte test spares every
    # ordinary query the walk over its pairs.
    if b"%00" not in query and b"\x00" not in query:
        return
    text = query.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
        if "\x00" in value or "\x00" in name:
            raise InvalidQueryParams(f"Property .{name} must not contain the NUL character")


def query_params(request: AnyRequest) -> dict[str, str]:
    """Flat query parameters with percent-encoded bracket keys decoded (`created_at[before]`)."""
    return flat_query(request.scope["query_string"])


def flat_query(query: bytes) -> dict[str, str]:
    """`query_params` of a raw query string (the Gateway's lanes, which have no Request)."""
    _refuse_nul(query)
    return parse_flat(query)


def query_nested(request: AnyRequest) -> dict[str, Any]:
    """The query string as a nested structure (`filters[a][conditions][$in][0]=x`)."""
    query: bytes = request.scope["query_string"]
    _refuse_nul(query)
    return parse_nested(query)


# --- bodies ------------------------------------------------------------------------------------


def validation_details(error: msgspec.MsgspecError) -> str:
    """msgspec's message in Voucherify's style: `Property .email: Expected str | null, got int`."""
    message = str(error)
    match = _AT.match(message)
    if match is None:
        return f"Payload: {message}".replace("`", "")
    problem, path = match.groups()
    return f"Property {path or '.'}: {problem}".replace("`", "")


async def read_json(request: AnyRequest, kind: type[T]) -> T:
    check_json_type(request.headers.get("content-type"))
    return decode_json(await request.body(), kind)


def check_json_type(content_type: str | None) -> None:
    """A body's declared type must be JSON (or absent): checked before the body is read."""
    if content_type and not _is_json(content_type):
        raise UnsupportedMediaType(f"Content-Type {content_type.split(';')[0]} is not supported")


def header(scope: Any, name: bytes) -> str | None:
    """A request header from the raw ASGI scope (`name` lower-case), as Litestar reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def receive_body(receive: Any, max_body: int) -> bytes:
    """The whole body over raw ASGI, refused (413) past `max_body` bytes as Litestar's
    `request_max_body_size` refuses it (a declared Content-Length the Gateway checked)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: what came is all there is
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > max_body:
                raise PayloadTooLarge(max_body)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_json(body: bytes, kind: type[T]) -> T:
    """A JSON body as `kind`, every refusal a 400 in Voucherify's words."""
    if not body.strip():
        raise InvalidPayload("Payload must be a JSON object")
    if b"\\u0000" in body:
        raise InvalidPayload("Payload: strings must not contain the NUL character (\\u0000)")
    too_deep = json_too_deep(body)
    try:
        decoded = msgspec.json.decode(body, type=kind)
    except msgspec.MsgspecError as exc:
        if too_deep and not isinstance(exc, msgspec.DecodeError):
            raise InvalidPayload(TOO_DEEP) from None
        raise InvalidPayload(validation_details(exc)) from None
    except RecursionError:  # deeper than the decoder's stack
        raise InvalidPayload(TOO_DEEP) from None
    except UnicodeDecodeError:  # msgspec raises it (not a DecodeError) for invalid UTF-8
        raise InvalidPayload("Payload must be UTF-8 encoded JSON") from None
    if too_deep:
        raise InvalidPayload(TOO_DEEP)
    return decoded


def json_too_deep(body: bytes) -> bool:
    """Whether JSON text nests arrays/objects deeper than JSON_MAX_DEPTH (core/limits.py).

    Checked on the bytes, so no decoder ever recurses that deep. Most bodies hold fewer
    brackets than the limit and cost two counts; the rest drop their strings and everything
    but brackets, then lose their innermost empty pairs once per allowed level (each pass
    C-speed): anything left is nested deeper (or malformed, which the decoder then reports).
    """
    if body.count(b"{") + body.count(b"[") <= JSON_MAX_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(JSON_MAX_DEPTH):
        brackets, removed = _EMPTY_PAIR.subn(b"", brackets)
        if not brackets:
            return False
        if not removed:
            return True
    return bool(brackets)


async def read_form(request: AnyRequest) -> dict[str, str]:
    """A form body's fields (a JSON object of strings is accepted too: clients often post
    JSON by habit). Repeated or non-text fields are refused, not guessed."""
    content_type = request.headers.get("content-type") or _FORM
    media = content_type.split(";", 1)[0].strip().lower()
    body = await request.body()
    if media == "application/json":
        try:
            fields = msgspec.json.decode(body or b"{}", type=dict[str, str])
        except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
            raise InvalidPayload("Payload must be an object of strings") from None
        if any("\x00" in value for value in fields.values()):
            raise InvalidPayload("Payload: strings must not contain the NUL character")
        return fields
    if media != _FORM:
        raise UnsupportedMediaType(f"Content-Type {media} is not supported; send {_FORM}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=_MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("Payload must be a UTF-8 form (x-www-form-urlencoded)") from None
    fields = {}
    for name, value in pairs:
        if name in fields:
            raise InvalidPayload(f"Property .{name} must be given once")
        if "\x00" in value or "\x00" in name:
            raise InvalidPayload(f"Property .{name} must not contain the NUL character")
        fields[name] = value
    return fields


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
