"""/v1/validations, /v1/redemptions (stackable), /v1/redemptions/{id}."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post

from patrons.core.errors import PatronsError
from patrons.db.database import Database
from patrons.http.errors import error_body
from patrons.http.requests import (
    origin_of,
    path_id,
    query_nested,
    query_params,
    read_json,
    request_id_of,
)
from patrons.projects.service import Project
from patrons.redemptions import legacy, listing, rollbacks, service
from patrons.redemptions.schemas import (
    Redeemed,
    RedemptionFailed,
    RedemptionList,
    RollbackRequest,
    Rollbacks,
    StackableRequest,
    Validation,
    VoucherRequest,
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


@get("/v1/redemptions")
async def list_redemptions(request: Request, db: Database, project: Project) -> RedemptionList:
    return await listing.list_(db, project_id=project.id, params=query_nested(request))


async def _rollback_body(request: Request) -> tuple[RollbackRequest, str | None]:
    """The optional body and the `reason` (query, else body) of a rollback request."""
    raw = (await request.body()).strip()
    body = await read_json(request, RollbackRequest) if raw not in (b"", b"null") else None
    body = body or RollbackRequest()
    reason = query_params(request).get("reason") or None
    if reason is None and isinstance(body.reason, str):
        reason = body.reason
    return body, reason


def _answer(payload: Any, error: PatronsError | None, request: Request) -> Any:
    """The rollback, or — when it failed, and was kept as a FAILURE — the error."""
    if error is None:
        return payload
    return Response(
        content=error_body(error, request_id_of(request)),
        status_code=error.status,
        media_type="application/json",
    )


@post("/v1/redemptions/{redemption_id:str}/rollback", status_code=200)
async def rollback_redemption(
    request: Request, redemption_id: str, db: Database, project: Project
) -> Any:
    body, reason = await _rollback_body(request)
    async with db.transaction() as conn:
        wire, error = await rollbacks.rollback(
            conn,
            project_id=project.id,
            redemption_id=path_id(redemption_id, resource="redemption"),
            body=body,
            reason=reason,
            origin=origin_of(request, project),
        )
    return _answer(wire, error, request)


@post("/v1/redemptions/{redemption_id:str}/rollbacks", status_code=200)
async def rollback_stacked(
    request: Request, redemption_id: str, db: Database, project: Project
) -> Any:
    body, reason = await _rollback_body(request)
    async with db.transaction() as conn:
        result, error = await rollbacks.rollback_stack(
            conn,
            project_id=project.id,
            redemption_id=path_id(redemption_id, resource="redemption"),
            body=body,
            reason=reason,
            origin=origin_of(request, project),
        )
    payload: Rollbacks = result
    return _answer(payload, error, request)


@post("/v1/vouchers/{code:str}/validate", status_code=200)
async def validate_voucher(request: Request, code: str, db: Database, project: Project) -> Any:
    body = await read_json(request, VoucherRequest)
    async with db.transaction() as conn:  # reads only
        return await legacy.validate(
            conn,
            project_id=project.id,
            code=path_id(code, resource="voucher"),
            body=body,
            request_id=request_id_of(request),
        )


@post("/v1/vouchers/{code:str}/redemption", status_code=200)
async def redeem_voucher(request: Request, code: str, db: Database, project: Project) -> Any:
    body = await read_json(request, VoucherRequest)
    origin = origin_of(request, project)
    voucher_code = path_id(code, resource="voucher")
    try:
        async with db.transaction() as conn:
            return await legacy.redeem(
                conn, project_id=project.id, code=voucher_code, body=body, origin=origin
            )
    except RedemptionFailed as failed:  # rolled back; the failure is kept on its own
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


router = Router(
    path="/",
    route_handlers=[
        validate_stacked,
        redeem_stacked,
        list_redemptions,
        get_redemption,
        rollback_redemption,
        rollback_stacked,
        validate_voucher,
        redeem_voucher,
    ],
)
