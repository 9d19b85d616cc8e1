"""/v1/validations, /v1/redemptions (stackable), /v1/redemptions/{id}."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post

from patrons.db.database import Database
from patrons.http.requests import origin_of, path_id, read_json, request_id_of
from patrons.projects.service import Project
from patrons.redemptions import service
from patrons.redemptions.schemas import (
    Redeemed,
    RedemptionFailed,
    StackableRequest,
    Validation,
)


@post("/v1/validations", status_code=200)
async def validate_stacked(request: Request, db: Database, project: Project) -> Validation:
    body = await read_json(request, StackableRequest)
    async with db.transaction() as conn:  # reads only; one snapshot for every redeemable
        return await service.validate(
            conn, project_id=project.id, body=body, request_id=request_id_of(request)
        )


@post("/v1/redemptions", status_code=200)
async def redeem_stacked(request: Request, db: Database, project: Project) -> Redeemed:
    body = await read_json(request, StackableRequest)
    origin = origin_of(request, project)
    try:
        async with db.transaction() as conn:
            return await service.redeem(conn, project_id=project.id, body=body, origin=origin)
    except RedemptionFailed as failed:  # rolled back; the failures are kept on their own
        async with db.transaction() as conn:
            await service.record_failures(
                conn,
                project_id=project.id,
                customer=body.customer,
                failed=failed,
                origin=origin,
                metadata=body.metadata,
                tracking_id=body.tracking_id,
            )
        raise


@get("/v1/redemptions/{redemption_id:str}")
async def get_redemption(redemption_id: str, db: Database, project: Project) -> Any:
    return await service.get(
        db, project_id=project.id, redemption_id=path_id(redemption_id, resource="redemption")
    )


router = Router(path="/", route_handlers=[validate_stacked, redeem_stacked, get_redemption])
