"""/v1/orders: create (upsert by source_id), get, update, list."""

from __future__ import annotations

from litestar import Request, Router, get, post, put

from patrons.db.database import Database
from patrons.http.requests import origin_of, path_id, query_params, read_json
from patrons.orders import service
from patrons.orders.schemas import Order, OrderList, OrderWrite
from patrons.projects.service import Project


@post("/v1/orders", status_code=200)
async def create_order(request: Request, db: Database, project: Project) -> Order:
    body = await read_json(request, OrderWrite)
    async with db.transaction() as conn:
        return await service.create(
            conn, project_id=project.id, body=body, origin=origin_of(request, project)
        )


@get("/v1/orders")
async def list_orders(request: Request, db: Database, project: Project) -> OrderList:
    return await service.list_(db, project_id=project.id, params=query_params(request))


@get("/v1/orders/{order_id:str}")
async def get_order(order_id: str, db: Database, project: Project) -> Order:
    return await service.get(db, project_id=project.id, ref=path_id(order_id, resource="order"))


@put("/v1/orders/{order_id:str}")
async def update_order(request: Request, order_id: str, db: Database, project: Project) -> Order:
    body = await read_json(request, OrderWrite)
    async with db.transaction() as conn:
        return await service.update(
            conn,
            project_id=project.id,
            ref=path_id(order_id, resource="order"),
            body=body,
            origin=origin_of(request, project),
        )


router = Router(path="/", route_handlers=[create_order, list_orders, get_order, update_order])
