"""/v1/async-actions: get one, list."""

from __future__ import annotations

from litestar import Request, Router, get

from patrons.async_actions import service
from patrons.async_actions.schemas import AsyncAction, AsyncActionList
from patrons.db.database import Database
from patrons.http.requests import path_id, query_params
from patrons.projects.service import Project


@get("/")
async def list_async_actions(request: Request, db: Database, project: Project) -> AsyncActionList:
    return await service.list_(db, project_id=project.id, params=query_params(request))


@get("/{action_id:str}")
async def get_async_action(action_id: str, db: Database, project: Project) -> AsyncAction:
    return await service.get(
        db, project_id=project.id, action_id=path_id(action_id, resource="async_action")
    )


router = Router(path="/v1/async-actions", route_handlers=[list_async_actions, get_async_action])
