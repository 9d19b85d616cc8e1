"""/v1/exports: create, get, list, delete; and the file download (token, no API keys).

The spec's download operation is `GET /v1/exports/{id}?token=…` on Voucherify's download
host; here the same path with a `token` answers the file too (with the project's keys), and
`result.url` points outside /v1, where the token alone is the credential.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Router, delete, get, post
from litestar.response import Stream

from patrons.db.database import Database
from patrons.exports import service
from patrons.exports.schemas import Export, ExportCreate, ExportList
from patrons.http.requests import path_id, query_params, read_json, request_id_of
from patrons.projects.service import Project


def _file(export_id: str, body: AsyncIterator[bytes]) -> Stream:
    return Stream(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export_id}.csv"'},
    )


@post("/v1/exports", status_code=200)
async def create_export(request: Request, db: Database, project: Project) -> Export:
    body = await read_json(request, ExportCreate)
    async with db.transaction() as conn:
        return await service.create(
            conn,
            project_id=project.id,
            body=body,
            request_id=request_id_of(request),
            base_url=str(request.base_url),
        )


@get("/v1/exports")
async def list_exports(request: Request, db: Database, project: Project) -> ExportList:
    return await service.list_(
        db, project_id=project.id, params=query_params(request), base_url=str(request.base_url)
    )


@get("/v1/exports/{export_id:str}")
async def get_export(
    request: Request, export_id: str, db: Database, project: Project
) -> Any:  # Export, or the file when a token is given
    ref = path_id(export_id, resource="export")
    params = query_params(request)
    if "token" in params:  # the spec's download-export, on the API host
        row, body = await service.download(
            db, project_id=project.id, export_id=ref, token=params["token"]
        )
        return _file(row["id"], body)
    return await service.get(
        db, project_id=project.id, export_id=ref, base_url=str(request.base_url)
    )


@delete("/v1/exports/{export_id:str}", status_code=204)
async def delete_export(export_id: str, db: Database, project: Project) -> None:
    await service.delete(db, project_id=project.id, export_id=path_id(export_id, resource="export"))


@get("/{project_id:str}/{export_id:str}")
async def download_export(
    request: Request, project_id: str, export_id: str, db: Database
) -> Stream:
    """`result.url`: the export's CSV file; the token is the credential."""
    row, body = await service.download(
        db,
        project_id=path_id(project_id, resource="export"),
        export_id=path_id(export_id, resource="export"),
        token=query_params(request).get("token") or "",
    )
    return _file(row["id"], body)


router = Router(path="/", route_handlers=[create_export, list_exports, get_export, delete_export])
# Outside /v1: the Gateway asks no API keys here; the export's token is checked instead.
downloads_router = Router(path=service.DOWNLOAD_PREFIX, route_handlers=[download_export])
