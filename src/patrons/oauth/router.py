"""/v1/oauth: token, introspect, token/revoke (form bodies, App-key authentication)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Router, post

from patrons.core.errors import InvalidPayload, UnsupportedMediaType
from patrons.db.database import Database
from patrons.oauth import service
from patrons.oauth.schemas import InactiveToken, OAuthToken, OAuthTokenIntrospection
from patrons.projects.service import Project

_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 16


async def read_form(request: Request) -> dict[str, str]:
    """The body's fields. The spec sends a form; a JSON object of strings is accepted too
    (clients often post JSON by habit). Repeated or non-text fields are refused, not guessed."""
    content_type = request.headers.get("content-type") or _FORM
    media = content_type.split(";", 1)[0].strip().lower()
    body = await request.body()
    if media == "application/json":
        return _json_fields(body)
    if media != _FORM:
        raise UnsupportedMediaType(f"Content-Type {media} is not supported; send {_FORM}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=_MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("Payload must be a UTF-8 form (x-www-form-urlencoded)") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise InvalidPayload(f"Property .{name} must be given once")
        if "\x00" in value or "\x00" in name:
            raise InvalidPayload(f"Property .{name} must not contain the NUL character")
        fields[name] = value
    return fields


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        data = msgspec.json.decode(body or b"{}", type=dict[str, str])
    except msgspec.MsgspecError:
        raise InvalidPayload("Payload must be an object of strings") from None
    if any("\x00" in value for value in data.values()):
        raise InvalidPayload("Payload: strings must not contain the NUL character")
    return data


@post("/token", status_code=200)
async def generate_token(request: Request, db: Database, project: Project) -> OAuthToken:
    fields = await read_form(request)
    ttl = request.app.state.oauth_token_ttl_seconds
    async with db.transaction() as conn:
        return await service.issue(
            conn,
            project=project,
            grant_type=fields.get("grant_type"),
            scope=fields.get("scope"),
            ttl_seconds=ttl,
        )


@post("/introspect", status_code=200)
async def introspect_token(
    request: Request, db: Database, project: Project
) -> OAuthTokenIntrospection | InactiveToken:
    fields = await read_form(request)
    return await service.introspect(db, project=project, access_token=fields.get("access_token"))


@post("/token/revoke", status_code=204)
async def revoke_token(request: Request, db: Database, project: Project) -> None:
    fields = await read_form(request)
    async with db.transaction() as conn:
        await service.revoke(conn, project=project, access_token=fields.get("access_token"))


router = Router(path="/v1/oauth", route_handlers=[generate_token, introspect_token, revoke_token])
