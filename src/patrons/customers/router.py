"""/v1/customers: create/upsert, get, update, delete, list; activity and segments of one.

`/v1/customers/{id}/redeemables` is served by redeemables/router.py: redeemables sits above
customers (publications create customers inline), so customers cannot import it.
"""

from __future__ import annotations

from litestar import Request, Router, delete, get, post, put

from patrons.activities import service as activities
from patrons.activities.schemas import ActivitiesList, ActivityList
from patrons.customers import erasure, service
from patrons.customers.bulk_router import HANDLERS as BULK_HANDLERS
from patrons.customers.erasure import PermanentDeletion
from patrons.customers.schemas import Customer, CustomerCreate, CustomerList, CustomerUpdate
from patrons.customers.wire import customer_to_wire
from patrons.db.database import Database
from patrons.http.requests import origin_of, path_id, query_params, read_json
from patrons.projects.service import Project
from patrons.segments import service as segments
from patrons.segments.schemas import CustomerSegmentList


@post("/", status_code=200)
async def create_customer(request: Request, db: Database, project: Project) -> Customer:
    body = await read_json(request, CustomerCreate)
    # One statement in autocommit where it can be, else one transaction (service decides).
    return await service.upsert_alone(
        db, project_id=project.id, body=body, origin=origin_of(request, project)
    )


@get("/")
async def list_customers(request: Request, db: Database, project: Project) -> CustomerList:
    return await service.list_(db, project_id=project.id, params=query_params(request))


# The Gateway's fast lane (api/fast_lane.py) answers this GET before Litestar sees it; the route
# stays so the OpenAPI document and 405 `Allow` lists describe the endpoint.
@get("/{customer_id:str}")
async def get_customer(customer_id: str, db: Database, project: Project) -> Customer:
    return await service.get(
        db, project_id=project.id, ref=path_id(customer_id, resource="customer")
    )


@put("/{customer_id:str}")
async def update_customer(
    request: Request, customer_id: str, db: Database, project: Project
) -> Customer:
    body = await read_json(request, CustomerUpdate)
    return await service.update_alone(
        db,
        project_id=project.id,
        ref=path_id(customer_id, resource="customer"),
        body=body,
        origin=origin_of(request, project),
    )


@delete("/{customer_id:str}", status_code=204)
async def delete_customer(
    request: Request, customer_id: str, db: Database, project: Project
) -> None:
    async with db.transaction() as conn:
        await service.delete(
            conn,
            project_id=project.id,
            ref=path_id(customer_id, resource="customer"),
            origin=origin_of(request, project),
        )


@post("/{customer_id:str}/permanent-deletion", status_code=200)
async def delete_customer_permanently(
    customer_id: str, db: Database, project: Project
) -> PermanentDeletion:
    """GDPR erasure (customers/erasure.py). The body is ignored: the Python SDK sends none,
    the JS SDK sends `{}`."""
    async with db.transaction() as conn:
        return await erasure.erase(
            conn, project_id=project.id, ref=path_id(customer_id, resource="customer")
        )


@get("/{customer_id:str}/activity")
async def list_customer_activity(
    request: Request, customer_id: str, db: Database, project: Project
) -> ActivityList:
    customer = await service.get_or_raise(
        db, project_id=project.id, ref=path_id(customer_id, resource="customer")
    )
    return await activities.list_(
        db,
        project_id=project.id,
        customer_id=customer["id"],
        params=query_params(request),
        render_customer=customer_to_wire,
    )


@get("/{customer_id:str}/segments")
async def list_customer_segments(
    customer_id: str, db: Database, project: Project
) -> CustomerSegmentList:
    """Not a 404 for an unknown customer: the segments such a customer would qualify for."""
    ref = path_id(customer_id, resource="customer")
    customer = await service.resolve(db, project_id=project.id, ref=ref)
    return await segments.segments_of(db, project_id=project.id, customer=customer, ref=ref)


@get("/{customer_id:str}/activities")
async def list_customer_activities(
    request: Request, customer_id: str, db: Database, project: Project
) -> ActivitiesList:
    """Deprecated by Voucherify, kept for older clients."""
    customer = await service.get_or_raise(
        db, project_id=project.id, ref=path_id(customer_id, resource="customer")
    )
    return await activities.list_legacy(
        db,
        project_id=project.id,
        customer_id=customer["id"],
        params=query_params(request),
        render_customer=customer_to_wire,
    )


router = Router(
    path="/v1/customers",
    route_handlers=[
        create_customer,
        list_customers,
        get_customer,
        update_customer,
        delete_customer,
        delete_customer_permanently,
        list_customer_activity,
        list_customer_activities,
        list_customer_segments,
        *BULK_HANDLERS,
    ],
)
