"""PUT /v1/customers/{id}/consents and GET /v1/consents: the legacy consent calls the
official JS SDK still makes (`customers.updateConsents`, `consents.list`)."""

from __future__ import annotations

from litestar import Request, Router, get, put

from patrons.consents import service
from patrons.consents.schemas import ConsentsListed
from patrons.db.database import Database
from patrons.http.requests import path_id, read_json
from patrons.projects.service import Project


@put("/v1/customers/{customer_id:str}/consents", status_code=204)
async def update_customer_consents(
    request: Request, customer_id: str, db: Database, project: Project
) -> None:
    """A customer's sub-resource served here: customers cannot import consents. 204, as
    Voucherify answered ("Returns no content if the consents were updated successfully")."""
    body = await read_json(request, dict[str, bool])
    async with db.transaction() as conn:
        await service.update(
            conn,
            project_id=project.id,
            ref=path_id(customer_id, resource="customer"),
            consents=body,
        )


@get("/v1/consents")
async def list_consents(db: Database, project: Project) -> ConsentsListed:
    return await service.list_(db, project_id=project.id)


router = Router(path="/", route_handlers=[update_customer_consents, list_consents])
