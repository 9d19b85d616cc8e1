"""Campaign and voucher operations for test suites' set-up and clean-up (issue 17):
/v1/campaigns/{id} PUT and DELETE, /enable, /disable, /vouchers[/{code}]; GET /v1/vouchers;
card balances (/v1/vouchers/{code}/balance, /v1/loyalties/[{campaignId}/]members/{id}/balance)
and their transactions (GET /v1/vouchers/{code}/transactions)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post, put

from patrons.core.pagination import bounded_int
from patrons.db.database import Database
from patrons.http.requests import origin_of, path_id, path_value, query_params, read_json
from patrons.projects.service import Project
from patrons.redeemables import admin, balances, campaigns
from patrons.redeemables.admin import Balance, BalanceUpdate, CampaignUpdate, VoucherList
from patrons.redeemables.schemas import Campaign, CampaignCreate, CampaignList, Voucher


@post("/v1/campaigns/{campaign_id:str}/vouchers", status_code=200)
async def add_vouchers(request: Request, campaign_id: str, db: Database, project: Project) -> Any:
    raw = query_params(request).get("vouchers_count")
    count = bounded_int(raw, name="vouchers_count", default=1, low=1, high=admin.MAX_ADD)
    async with db.transaction() as conn:
        result = await admin.add_vouchers(
            conn,
            project_id=project.id,
            ref=path_id(campaign_id, resource="campaign"),
            count=count,
            code=None,
            origin=origin_of(request, project),
        )
    if isinstance(result, dict):
        return Response(content=result, status_code=202)
    return result


@post("/v1/campaigns/{campaign_id:str}/vouchers/{code:str}", status_code=200)
async def add_voucher_with_code(
    request: Request, campaign_id: str, code: str, db: Database, project: Project
) -> Any:
    async with db.transaction() as conn:
        return await admin.add_vouchers(
            conn,
            project_id=project.id,
            ref=path_id(campaign_id, resource="campaign"),
            count=None,
            code=path_value(code, name="code"),
            origin=origin_of(request, project),
        )


@put("/v1/campaigns/{campaign_id:str}")
async def update_campaign(
    request: Request, campaign_id: str, db: Database, project: Project
) -> Campaign:
    body = await read_json(request, CampaignUpdate)
    async with db.transaction() as conn:
        return await admin.update_campaign(
            conn, project_id=project.id, ref=path_id(campaign_id, resource="campaign"), body=body
        )


@post("/v1/campaigns/{campaign_id:str}/enable", status_code=200)
async def enable_campaign(campaign_id: str, db: Database, project: Project) -> Campaign:
    async with db.transaction() as conn:
        return await admin.set_campaign_active(
            conn, project_id=project.id, ref=path_id(campaign_id, resource="campaign"), active=True
        )


@post("/v1/campaigns/{campaign_id:str}/disable", status_code=200)
async def disable_campaign(campaign_id: str, db: Database, project: Project) -> Campaign:
    async with db.transaction() as conn:
        return await admin.set_campaign_active(
            conn,
            project_id=project.id,
            ref=path_id(campaign_id, resource="campaign"),
            active=False,
        )


@delete("/v1/campaigns/{campaign_id:str}", status_code=202)
async def delete_campaign(campaign_id: str, db: Database, project: Project) -> dict[str, Any]:
    async with db.transaction() as conn:
        await admin.delete_campaign(
            conn, project_id=project.id, ref=path_id(campaign_id, resource="campaign")
        )
    return {}  # deleted at once: no async action to follow


@get("/v1/vouchers")
async def list_vouchers(request: Request, db: Database, project: Project) -> VoucherList:
    return await admin.list_vouchers(db, project_id=project.id, params=query_params(request))


async def _balance(
    request: Request, db: Database, project: Project, code: str, campaign: str | None
) -> Balance:
    body = await read_json(request, BalanceUpdate)
    async with db.transaction() as conn:
        return await admin.change_balance(
            conn,
            project_id=project.id,
            code=path_id(code, resource="voucher"),
            body=body,
            origin=origin_of(request, project),
            campaign_ref=None if campaign is None else path_id(campaign, resource="campaign"),
        )


@post("/v1/vouchers/{code:str}/balance", status_code=200)
async def voucher_balance(request: Request, code: str, db: Database, project: Project) -> Balance:
    return await _balance(request, db, project, code, None)


@get("/v1/vouchers/{code:str}/transactions")
async def voucher_transactions(
    request: Request, code: str, db: Database, project: Project
) -> dict[str, Any]:
    return await balances.list_transactions(
        db,
        project_id=project.id,
        code=path_id(code, resource="voucher"),
        params=query_params(request),
    )


@post("/v1/loyalties/members/{member_id:str}/balance", status_code=200)
async def member_balance(
    request: Request, member_id: str, db: Database, project: Project
) -> Balance:
    return await _balance(request, db, project, member_id, None)


@post("/v1/loyalties/{campaign_id:str}/members/{member_id:str}/balance", status_code=200)
async def campaign_member_balance(
    request: Request, campaign_id: str, member_id: str, db: Database, project: Project
) -> Balance:
    return await _balance(request, db, project, member_id, campaign_id)


async def _member(db: Database, project: Project, member: str, campaign: str | None) -> Voucher:
    return await admin.loyalty_member(
        db,
        project_id=project.id,
        code=path_id(member, resource="voucher"),
        campaign_ref=None if campaign is None else path_id(campaign, resource="campaign"),
    )


@get("/v1/loyalties/members/{member_id:str}")
async def get_member(member_id: str, db: Database, project: Project) -> Voucher:
    return await _member(db, project, member_id, None)


@get("/v1/loyalties/{campaign_id:str}/members/{member_id:str}")
async def get_campaign_member(
    campaign_id: str, member_id: str, db: Database, project: Project
) -> Voucher:
    return await _member(db, project, member_id, campaign_id)


@post("/v1/loyalties", status_code=200)
async def create_loyalty_program(request: Request, db: Database, project: Project) -> Campaign:
    body = await read_json(request, CampaignCreate)
    body = msgspec.structs.replace(body, campaign_type="LOYALTY_PROGRAM")
    async with db.transaction() as conn:
        return await campaigns.create(
            conn, project_id=project.id, body=body, origin=origin_of(request, project)
        )


@get("/v1/loyalties")
async def list_loyalty_programs(request: Request, db: Database, project: Project) -> CampaignList:
    params = {**query_params(request), "campaign_type": "LOYALTY_PROGRAM"}
    return await campaigns.list_(db, project_id=project.id, params=params)


# Served by redeemables/router.py's Router: these share paths with its handlers
# (/v1/campaigns/{id}, /v1/vouchers), and one path must live in one Router.
HANDLERS = [
    add_vouchers,
    add_voucher_with_code,
    update_campaign,
    enable_campaign,
    disable_campaign,
    delete_campaign,
    list_vouchers,
    voucher_balance,
    voucher_transactions,
    member_balance,
    campaign_member_balance,
    get_member,
    get_campaign_member,
    create_loyalty_program,
    list_loyalty_programs,
]
