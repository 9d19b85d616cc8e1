"""/v1/segments: create, get, delete, list."""

from __future__ import annotations

from litestar import Request, Router, delete, get, post

from patrons.db.database import Database
from patrons.http.requests import path_id, query_params, read_json
from patrons.projects.service import Project
from patrons.segments import service
from patrons.segments.schemas import Segment, SegmentCreate, SegmentList
from patrons.segments.service import Resolver


@post("/", status_code=200)
async def create_segment(
    request: Request, db: Database, project: Project, resolve_customers: Resolver
) -> Segment:
    """`resolve_customers` (refs → customer ids, for static segments) is wired by api/app.py:
    customers sit above segments, so segments cannot import them."""
    body = await read_json(request, SegmentCreate)
    async with db.transaction() as conn:
        return await service.create(
            conn, project_id=project.id, body=body, resolve=resolve_customers
        )


@get("/")
async def list_segments(request: Request, db: Database, project: Project) -> SegmentList:
    return await service.list_(db, project_id=project.id, params=query_params(request))


@get("/{segment_id:str}")
async def get_segment(segment_id: str, db: Database, project: Project) -> Segment:
    return await service.get(
        db, project_id=project.id, segment_id=path_id(segment_id, resource="segment")
    )


@delete("/{segment_id:str}", status_code=204)
async def delete_segment(segment_id: str, db: Database, project: Project) -> None:
    async with db.transaction() as conn:
        await service.delete(
            conn, project_id=project.id, segment_id=path_id(segment_id, resource="segment")
        )


router = Router(
    path="/v1/segments",
    route_handlers=[create_segment, list_segments, get_segment, delete_segment],
)
