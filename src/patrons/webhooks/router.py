"""/management/v1/projects/{projectId}/webhooks: Voucherify's management paths for webhook
configurations, accepted with the project's own App keys.

The Gateway authenticates only /v1 paths, so these handlers check X-App-Id/X-App-Token
themselves (a point read; management calls are rare). A projectId other than the keys' own
project is a 404, as for a project that does not exist: keys never learn of other projects.
"""

from __future__ import annotations

from litestar import Request, Router, delete, get, post, put

from patrons.core.errors import NotFound
from patrons.db.database import Database
from patrons.http.requests import path_id, read_json
from patrons.projects.service import Authenticator
from patrons.webhooks import service
from patrons.webhooks.schemas import Webhook, WebhookList, WebhookWrite

BASE = "/management/v1/projects/{project_id:str}/webhooks"


async def _own_project(request: Request, db: Database, raw_project_id: str) -> str:
    """The project the path names, when the request's App keys belong to it."""
    project = await Authenticator(db, ttl=0).authenticate(
        request.headers.get("x-app-id"), request.headers.get("x-app-token")
    )
    project_id = path_id(raw_project_id, resource="project")
    if project_id != project.id:
        raise NotFound("project", project_id)
    return project_id


@post(BASE, status_code=200)
async def create_webhook(request: Request, project_id: str, db: Database) -> Webhook:
    own = await _own_project(request, db, project_id)
    body = await read_json(request, WebhookWrite)
    async with db.transaction() as conn:
        return await service.create(conn, project_id=own, body=body)


@get(BASE)
async def list_webhooks(request: Request, project_id: str, db: Database) -> WebhookList:
    own = await _own_project(request, db, project_id)
    return await service.list_(db, project_id=own)


@get(BASE + "/{webhook_id:str}")
async def get_webhook(request: Request, project_id: str, webhook_id: str, db: Database) -> Webhook:
    own = await _own_project(request, db, project_id)
    return await service.get(db, project_id=own, webhook_id=path_id(webhook_id, resource="webhook"))


@put(BASE + "/{webhook_id:str}")
async def update_webhook(
    request: Request, project_id: str, webhook_id: str, db: Database
) -> Webhook:
    own = await _own_project(request, db, project_id)
    body = await read_json(request, WebhookWrite)
    async with db.transaction() as conn:
        return await service.update(
            conn, project_id=own, webhook_id=path_id(webhook_id, resource="webhook"), body=body
        )


@delete(BASE + "/{webhook_id:str}", status_code=204)
async def delete_webhook(request: Request, project_id: str, webhook_id: str, db: Database) -> None:
    own = await _own_project(request, db, project_id)
    async with db.transaction() as conn:
        await service.delete(
            conn, project_id=own, webhook_id=path_id(webhook_id, resource="webhook")
        )


router = Router(
    path="/",
    route_handlers=[create_webhook, list_webhooks, get_webhook, update_webhook, delete_webhook],
)
