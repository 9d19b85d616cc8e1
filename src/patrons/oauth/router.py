"""/v1/oauth: token, introspect, token/revoke (form bodies, App-key authentication)."""

from __future__ import annotations

from litestar import Request, Router, post

from patrons.db.database import Database
from patrons.http.requests import read_form
from patrons.oauth import service
from patrons.oauth.schemas import InactiveToken, OAuthToken, OAuthTokenIntrospection
from patrons.projects.service import Project


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
