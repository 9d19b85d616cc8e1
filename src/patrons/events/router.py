"""POST /v1/events: track a custom event."""

from __future__ import annotations

from litestar import Request, Router, post

from patrons.db.database import Database
from patrons.events import service
from patrons.events.schemas import EventCreate, EventCreated
from patrons.http.requests import origin_of, read_json
from patrons.projects.service import Project


@post("/v1/events", status_code=200)
async def track_custom_event(request: Request, db: Database, project: Project) -> EventCreated:
    body = await read_json(request, EventCreate)
    async with db.transaction() as conn:
        return await service.track(
            conn, project_id=project.id, body=body, origin=origin_of(request, project)
        )


router = Router(path="/", route_handlers=[track_custom_event])
