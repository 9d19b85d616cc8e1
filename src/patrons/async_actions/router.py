"""/v1/async-actions: get one, list; and the failed-row report downloads (token, no keys)."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.response import Stream

from patrons.async_actions import reports, service
from patrons.async_actions.schemas import AsyncAction, AsyncActionList
from patrons.db.database import Database
from patrons.http.requests import path_id, query_params
from patrons.projects.service import Project


@get("/")
async def list_async_actions(request: Request, db: Database, project: Project) -> AsyncActionList:
    return await service.list_(db, project_id=project.id, params=query_params(request))


@get("/{action_id:str}")
async def get_async_action(
    request: Request, action_id: str, db: Database, project: Project
) -> AsyncAction:
    action = await service.get(
        db, project_id=project.id, action_id=path_id(action_id, resource="async_action")
    )
    return reports.with_base_url(action, str(request.base_url))


@get("/{project_id:str}/{action_id:str}")
async def download_report(
    request: Request, project_id: str, action_id: str, db: Database
) -> Stream:
    """A job's failed rows as CSV (`result.reports[0]`): the token is the credential."""
    token = query_params(request).get("token") or ""
    body = await reports.stream(
        db,
        project_id=path_id(project_id, resource="report"),
        action_id=path_id(action_id, resource="report"),
        token=token,
    )
    return Stream(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{action_id}-failed.csv"'},
    )


router = Router(path="/v1/async-actions", route_handlers=[list_async_actions, get_async_action])
# Outside /v1: the Gateway asks no API keys here; the report's token is checked instead.
reports_router = Router(path=reports.PREFIX, route_handlers=[download_report])
