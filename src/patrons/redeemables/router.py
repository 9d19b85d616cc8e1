"""/v1/campaigns, /v1/vouchers, /v1/publications, /v1/loyalties/…/members, /v1/referrals/…."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, delete, get, post, put

from patrons.core.errors import InvalidPayload, InvalidQueryParams, PatronsError
from patrons.core.limits import CODE_MAX
from patrons.customers import service as customers
from patrons.db.database import Database
from patrons.http.requests import (
    origin_of,
    path_id,
    path_value,
    query_nested,
    query_params,
    read_json,
    validation_details,
)
from patrons.projects.service import Project
from patrons.redeemables import (
    admin_router,
    campaigns,
    holders,
    publication_list,
    publications,
    vouchers,
)
from patrons.redeemables.holders import HolderList, HoldersCreate, HoldersCreated, MemberCreate
from patrons.redeemables.publications import PublicationCreate
from patrons.redeemables.schemas import (
    Campaign,
    CampaignCreate,
    CampaignList,
    CustomerRedeemableList,
    Publication,
    PublicationList,
    Voucher,
    VoucherWrite,
)


def _new_code(raw: str) -> str:
    """The code a POST /v1/vouchers/{code} creates: decoded, no NUL, within CODE_MAX."""
    code = path_value(raw, name="code")
    if len(code) > CODE_MAX:
        raise InvalidPayload(f"Property .code must NOT have more than {CODE_MAX} characters")
    return code


# --- campaigns --------------------------------------------------------------------------------


@post("/v1/campaigns", status_code=200)
async def create_campaign(request: Request, db: Database, project: Project) -> Campaign:
    body = await read_json(request, CampaignCreate)
    async with db.transaction() as conn:
        return await campaigns.create(
            conn, project_id=project.id, body=body, origin=origin_of(request, project)
        )


@get("/v1/campaigns")
async def list_campaigns(request: Request, db: Database, project: Project) -> CampaignList:
    return await campaigns.list_(db, project_id=project.id, params=query_params(request))


@get("/v1/campaigns/{campaign_id:str}")
async def get_campaign(campaign_id: str, db: Database, project: Project) -> Campaign:
    return await campaigns.get(
        db, project_id=project.id, ref=path_id(campaign_id, resource="campaign")
    )


# --- vouchers ---------------------------------------------------------------------------------


@post("/v1/vouchers", status_code=200)
async def create_voucher(request: Request, db: Database, project: Project) -> Voucher:
    body = await read_json(request, VoucherWrite)
    async with db.transaction() as conn:
        return await vouchers.create(conn, project_id=project.id, body=body)


@post("/v1/vouchers/{code:str}", status_code=200)
async def create_voucher_with_code(
    request: Request, code: str, db: Database, project: Project
) -> Voucher:
    body = await read_json(request, VoucherWrite)
    async with db.transaction() as conn:
        return await vouchers.create(conn, project_id=project.id, body=body, code=_new_code(code))


@get("/v1/vouchers/{code:str}")
async def get_voucher(code: str, db: Database, project: Project) -> Voucher:
    return await vouchers.get(db, project_id=project.id, code=path_id(code, resource="voucher"))


@put("/v1/vouchers/{code:str}")
async def update_voucher(request: Request, code: str, db: Database, project: Project) -> Voucher:
    body = await read_json(request, VoucherWrite)
    async with db.transaction() as conn:
        return await vouchers.update(
            conn, project_id=project.id, code=path_id(code, resource="voucher"), body=body
        )


@post("/v1/vouchers/{code:str}/enable", status_code=200)
async def enable_voucher(code: str, db: Database, project: Project) -> Voucher:
    async with db.transaction() as conn:
        return await vouchers.set_active(
            conn, project_id=project.id, code=path_id(code, resource="voucher"), active=True
        )


@post("/v1/vouchers/{code:str}/disable", status_code=200)
async def disable_voucher(code: str, db: Database, project: Project) -> Voucher:
    async with db.transaction() as conn:
        return await vouchers.set_active(
            conn, project_id=project.id, code=path_id(code, resource="voucher"), active=False
        )


@delete("/v1/vouchers/{code:str}", status_code=204)
async def delete_voucher(request: Request, code: str, db: Database, project: Project) -> None:
    async with db.transaction() as conn:
        await vouchers.delete(
            conn,
            project_id=project.id,
            code=path_id(code, resource="voucher"),
            origin=origin_of(request, project),
        )


# --- publications -----------------------------------------------------------------------------


async def _publish(
    request: Request, db: Database, project: Project, body: PublicationCreate
) -> Publication:
    origin = origin_of(request, project)
    try:
        async with db.transaction() as conn:
            return await publications.create(conn, project_id=project.id, body=body, origin=origin)
    except PatronsError as exc:
        if exc.status < 500:
            await publications.record_failure(
                db, project_id=project.id, body=body, error=exc, origin=origin
            )
        raise


@post("/v1/publications", status_code=200)
async def create_publication(request: Request, db: Database, project: Project) -> Publication:
    return await _publish(request, db, project, await read_json(request, PublicationCreate))


@get("/v1/publications")
async def list_publications(request: Request, db: Database, project: Project) -> PublicationList:
    return await publication_list.list_(db, project_id=project.id, params=query_nested(request))


def _publication_from_query(params: dict[str, Any]) -> PublicationCreate:
    params.pop("join_once", None)  # the campaign's own join_once setting decides
    try:
        return msgspec.convert(params, PublicationCreate, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidQueryParams(validation_details(exc)) from None


@get("/v1/publications/create")
async def create_publication_by_get(
    request: Request, db: Database, project: Project
) -> Publication:
    return await _publish(request, db, project, _publication_from_query(query_nested(request)))


# --- loyalty members and referral holders -----------------------------------------------------


@post("/v1/loyalties/{campaign_id:str}/members", status_code=200)
async def add_loyalty_member(
    request: Request, campaign_id: str, db: Database, project: Project
) -> Voucher:
    body = await read_json(request, MemberCreate)
    async with db.transaction() as conn:
        return await holders.add_member(
            conn,
            project_id=project.id,
            campaign_ref=path_id(campaign_id, resource="campaign"),
            body=body,
            origin=origin_of(request, project),
        )


async def _add_holders(
    request: Request, db: Database, project: Project, member_id: str, campaign_id: str | None
) -> HoldersCreated:
    body = await read_json(request, HoldersCreate)
    async with db.transaction() as conn:
        return await holders.add_holders(
            conn,
            project_id=project.id,
            member_ref=path_id(member_id, resource="voucher"),
            campaign_ref=None if campaign_id is None else path_id(campaign_id, resource="campaign"),
            body=body,
            origin=origin_of(request, project),
        )


async def _remove_holder(
    request: Request,
    db: Database,
    project: Project,
    member_id: str,
    holder_id: str,
    campaign_id: str | None,
) -> None:
    async with db.transaction() as conn:
        await holders.remove_holder(
            conn,
            project_id=project.id,
            member_ref=path_id(member_id, resource="voucher"),
            campaign_ref=None if campaign_id is None else path_id(campaign_id, resource="campaign"),
            holder_id=path_id(holder_id, resource="redeemable_holder"),
            origin=origin_of(request, project),
        )


@post("/v1/referrals/{campaign_id:str}/members/{member_id:str}/holders", status_code=200)
async def add_referral_holders(
    request: Request, campaign_id: str, member_id: str, db: Database, project: Project
) -> HoldersCreated:
    return await _add_holders(request, db, project, member_id, campaign_id)


@post("/v1/referrals/members/{member_id:str}/holders", status_code=200)
async def add_referral_holders_by_code(
    request: Request, member_id: str, db: Database, project: Project
) -> HoldersCreated:
    return await _add_holders(request, db, project, member_id, None)


@get("/v1/referrals/{campaign_id:str}/members/{member_id:str}/holders")
async def list_referral_holders(
    request: Request, campaign_id: str, member_id: str, db: Database, project: Project
) -> HolderList:
    return await holders.list_holders(
        db,
        project_id=project.id,
        member_ref=path_id(member_id, resource="voucher"),
        campaign_ref=path_id(campaign_id, resource="campaign"),
        params=query_nested(request),
    )


@get("/v1/referrals/members/{member_id:str}/holders")
async def list_referral_holders_by_code(
    request: Request, member_id: str, db: Database, project: Project
) -> HolderList:
    return await holders.list_holders(
        db,
        project_id=project.id,
        member_ref=path_id(member_id, resource="voucher"),
        campaign_ref=None,
        params=query_nested(request),
    )


@delete(
    "/v1/referrals/{campaign_id:str}/members/{member_id:str}/holders/{holder_id:str}",
    status_code=204,
)
async def remove_referral_holder(
    request: Request,
    campaign_id: str,
    member_id: str,
    holder_id: str,
    db: Database,
    project: Project,
) -> None:
    await _remove_holder(request, db, project, member_id, holder_id, campaign_id)


@delete("/v1/referrals/members/{member_id:str}/holders/{holder_id:str}", status_code=204)
async def remove_referral_holder_by_code(
    request: Request, member_id: str, holder_id: str, db: Database, project: Project
) -> None:
    await _remove_holder(request, db, project, member_id, holder_id, None)


@get("/v1/customers/{customer_id:str}/redeemables")
async def list_customer_redeemables(
    request: Request, customer_id: str, db: Database, project: Project
) -> CustomerRedeemableList:
    """A customer's sub-resource served here: customers cannot import redeemables."""
    customer = await customers.get_or_raise(
        db, project_id=project.id, ref=path_id(customer_id, resource="customer")
    )
    return await holders.customer_redeemables(
        db, project_id=project.id, customer_id=customer["id"], params=query_nested(request)
    )


router = Router(
    path="/",
    route_handlers=[
        list_customer_redeemables,
        create_campaign,
        list_campaigns,
        get_campaign,
        create_voucher,
        create_voucher_with_code,
        get_voucher,
        update_voucher,
        enable_voucher,
        disable_voucher,
        delete_voucher,
        create_publication,
        list_publications,
        create_publication_by_get,
        add_loyalty_member,
        add_referral_holders,
        add_referral_holders_by_code,
        list_referral_holders,
        list_referral_holders_by_code,
        remove_referral_holder,
        remove_referral_holder_by_code,
        *admin_router.HANDLERS,
    ],
)
