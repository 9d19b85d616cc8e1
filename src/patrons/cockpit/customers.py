"""/cockpit/customers: search and list, one customer (profile, activity, segments,
redeemables, orders, redemptions), edit, delete and permanent deletion — through the API's
own services."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from patrons.activities import service as activities
from patrons.cockpit.auth import Session, form_of
from patrons.cockpit.render import page
from patrons.core.errors import InvalidPayload, PatronsError
from patrons.customers import erasure
from patrons.customers import service as customers
from patrons.customers.schemas import ADDRESS_FIELDS, CustomerUpdate
from patrons.customers.wire import customer_to_wire
from patrons.db.database import Database
from patrons.http.requests import path_id, query_params, validation_details
from patrons.orders import service as orders
from patrons.redeemables import holders
from patrons.redemptions import listing as redemptions
from patrons.segments import service as segments

AnyRequest = Request[Any, Any, Any]

# The list filters of GET /v1/customers the page offers (listing.py parses them).
FILTERS = (
    "email",
    "name",
    "city",
    "segment_id",
    "created_at[after]",
    "created_at[before]",
    "updated_at[after]",
    "updated_at[before]",
)
ORDERS = ("-created_at", "created_at", "-updated_at", "updated_at", "source_id", "-source_id")
PROFILE_FIELDS = ("name", "email", "phone", "description", "birthdate")
SHOWN = 30  # the newest orders and redemptions a customer page lists (a note says if more)


def customer_url(customer_id: str) -> str:
    return "/cockpit/customers/" + quote(customer_id, safe="")


def _plain(value: Any) -> Any:
    """A wire struct as the JSON the API would send (Raw fields included), for templates."""
    return msgspec.json.decode(msgspec.json.encode(value))


async def _search(db: Database, project_id: str, q: str) -> list[dict[str, Any]]:
    """Customers whose id, source_id, email or name is exactly `q` (each an indexed lookup)."""
    found: dict[str, dict[str, Any]] = {}
    row = await customers.resolve(db, project_id=project_id, ref=q)
    if row is not None:
        wire = _plain(customer_to_wire(row))
        found[wire["id"]] = wire
    for name in ("email", "name"):
        page_ = await customers.list_(db, project_id=project_id, params={name: q, "limit": "100"})
        for item in _plain(page_)["customers"]:
            found.setdefault(item["id"], item)
    return list(found.values())


@get("/customers")
async def list_customers(
    request: AnyRequest, db: Database, cockpit_session: Session
) -> Response[str]:
    params = query_params(request)
    project_id = cockpit_session.project.id
    q = params.get("q", "").strip()
    chosen = {name: params[name] for name in FILTERS if params.get(name)}
    order = params.get("order") or "-created_at"
    listing: dict[str, Any] = {"limit": params.get("limit") or "25", "order": order, **chosen}
    for name in ("starting_after", "page"):
        if params.get(name):
            listing[name] = params[name]
    error = None
    rows: list[dict[str, Any]] = []
    total = 0
    has_more = False
    next_url = None
    try:
        if q:
            rows = await _search(db, project_id, q)
            total = len(rows)
        else:
            result = _plain(await customers.list_(db, project_id=project_id, params=listing))
            rows, total, has_more = result["customers"], result["total"], result["has_more"]
    except PatronsError as exc:
        error = exc.details or exc.message
    if has_more and rows:
        following = {k: v for k, v in listing.items() if k not in ("starting_after", "page")}
        if order.endswith("created_at"):
            following["starting_after"] = rows[-1]["created_at"]
        else:  # the cursor bounds created_at only; other orders page by number (≤ 99)
            following["page"] = str(int(listing.get("page") or 1) + 1)
        next_url = "/cockpit/customers?" + urlencode(following)
    return page(
        "customers.html",
        status=400 if error else 200,
        title="Customers",
        session=cockpit_session,
        q=q,
        filters=FILTERS,
        chosen=chosen,
        orders=ORDERS,
        order=order,
        limit=listing["limit"],
        customers=rows,
        total=total,
        next_url=next_url,
        first_url="/cockpit/customers?" + urlencode({"order": order, **chosen})
        if listing.get("starting_after") or listing.get("page")
        else None,
        error=error,
        notice="Customer deleted."
        if params.get("deleted")
        else "Customer permanently deleted."
        if params.get("erased")
        else None,
        customer_url=customer_url,
    )


async def _customer(db: Database, cockpit_session: Session, raw_id: str) -> Any:
    return await customers.get_or_raise(
        db, project_id=cockpit_session.project.id, ref=path_id(raw_id, resource="customer")
    )


@get("/customers/{customer_id:str}")
async def show_customer(
    request: AnyRequest, customer_id: str, db: Database, cockpit_session: Session
) -> Response[str]:
    row = await _customer(db, cockpit_session, customer_id)
    project_id = cockpit_session.project.id
    params = query_params(request)
    activity_params = {"limit": "25"}
    if params.get("activity_after"):
        activity_params["starting_after_id"] = params["activity_after"]
    activity = _plain(
        await activities.list_(
            db,
            project_id=project_id,
            customer_id=row["id"],
            params=activity_params,
            render_customer=customer_to_wire,
        )
    )
    member_of = _plain(
        await segments.segments_of(db, project_id=project_id, customer=row, ref=row["id"])
    )
    held = _plain(
        await holders.customer_redeemables(
            db, project_id=project_id, customer_id=row["id"], params={"limit": "100"}
        )
    )
    bought = _plain(
        await orders.of_customer(db, project_id=project_id, customer_id=row["id"], limit=SHOWN)
    )
    redeemed = _plain(
        await redemptions.list_(
            db,
            project_id=project_id,
            params={
                "limit": str(SHOWN),
                "order": "-created_at",
                "filters": {
                    "customer_id": {"conditions": {"$is": row["id"]}},
                    "object": {"conditions": {"$is": "redemption"}},
                },
            },
        )
    )
    wire = _plain(customer_to_wire(row))
    return page(
        "customer.html",
        title=wire.get("name") or wire.get("source_id") or wire["id"],
        session=cockpit_session,
        customer=wire,
        url=customer_url(wire["id"]),
        activity=activity,
        segments=member_of["data"],
        redeemables=held,
        orders=bought,
        redemptions=redeemed,
        saved=params.get("saved") == "1",
    )


def _edit_page(
    cockpit_session: Session, wire: dict[str, Any], form: dict[str, str], error: str | None
) -> Response[str]:
    return page(
        "customer_edit.html",
        status=400 if error else 200,
        title="Edit " + (wire.get("name") or wire.get("source_id") or wire["id"]),
        session=cockpit_session,
        customer=wire,
        url=customer_url(wire["id"]),
        form=form,
        profile_fields=PROFILE_FIELDS,
        address_fields=ADDRESS_FIELDS,
        error=error,
    )


def _form_of_customer(wire: dict[str, Any]) -> dict[str, str]:
    form = {name: str(wire.get(name) or "") for name in PROFILE_FIELDS}
    address = wire.get("address") or {}
    for name in ADDRESS_FIELDS:
        form["address_" + name] = str(address.get(name) or "")
    metadata = wire.get("metadata")
    form["metadata"] = json.dumps(metadata, indent=2, ensure_ascii=False) if metadata else ""
    return form


def update_of(form: dict[str, str]) -> CustomerUpdate:
    """The edit form as a PUT body: an emptied field is cleared (null), metadata replaced."""
    body: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        value = form.get(name, "").strip()
        body[name] = value or None
    address = {name: form.get("address_" + name, "").strip() or None for name in ADDRESS_FIELDS}
    body["address"] = address if any(address.values()) else None
    raw = form.get("metadata", "").strip()
    if raw:
        try:
            body["metadata"] = json.loads(raw)
        except ValueError:
            raise InvalidPayload("Metadata must be a JSON object") from None
        if not isinstance(body["metadata"], dict):
            raise InvalidPayload("Metadata must be a JSON object")
    else:
        body["metadata"] = None
    try:
        return msgspec.convert(body, CustomerUpdate)
    except msgspec.ValidationError as exc:
        raise InvalidPayload(validation_details(exc)) from None


@get("/customers/{customer_id:str}/edit")
async def edit_customer(customer_id: str, db: Database, cockpit_session: Session) -> Response[str]:
    wire = _plain(customer_to_wire(await _customer(db, cockpit_session, customer_id)))
    return _edit_page(cockpit_session, wire, _form_of_customer(wire), None)


@post("/customers/{customer_id:str}/edit", status_code=303)
async def save_customer(
    request: AnyRequest, customer_id: str, db: Database, cockpit_session: Session
) -> Response[Any]:
    form = await form_of(request, cockpit_session)
    row = await _customer(db, cockpit_session, customer_id)
    try:
        await customers.update_alone(
            db,
            project_id=cockpit_session.project.id,
            ref=row["id"],
            body=update_of(form),
            origin=cockpit_session.origin(request),
        )
    except PatronsError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        wire = _plain(customer_to_wire(row))
        return _edit_page(cockpit_session, wire, form, exc.details or exc.message)
    return Redirect(customer_url(row["id"]) + "?saved=1", status_code=303)


@get("/customers/{customer_id:str}/delete")
async def confirm_delete(
    request: AnyRequest, customer_id: str, db: Database, cockpit_session: Session
) -> Response[str]:
    wire = _plain(customer_to_wire(await _customer(db, cockpit_session, customer_id)))
    permanent = query_params(request).get("permanent") == "1"
    return page(
        "customer_delete.html",
        title="Delete " + (wire.get("name") or wire.get("source_id") or wire["id"]),
        session=cockpit_session,
        customer=wire,
        url=customer_url(wire["id"]),
        permanent=permanent,
    )


@post("/customers/{customer_id:str}/delete", status_code=303)
async def delete_customer(
    request: AnyRequest, customer_id: str, db: Database, cockpit_session: Session
) -> Response[Any]:
    """`confirm` must be `delete` (soft) or the word typed on the page (`erase`, permanent)."""
    form = await form_of(request, cockpit_session)
    project_id = cockpit_session.project.id
    row = await _customer(db, cockpit_session, customer_id)
    if form.get("permanent") == "1":
        if form.get("confirm", "").strip().lower() != "erase":
            wire = _plain(customer_to_wire(row))
            return page(
                "customer_delete.html",
                status=400,
                title="Delete",
                session=cockpit_session,
                customer=wire,
                url=customer_url(wire["id"]),
                permanent=True,
                error="Type ERASE to confirm the permanent deletion.",
            )
        async with db.transaction() as conn:
            await erasure.erase(conn, project_id=project_id, ref=row["id"])
        return Redirect("/cockpit/customers?" + "erased=1", status_code=303)
    if form.get("confirm") != "delete":
        return Redirect(customer_url(row["id"]) + "/delete", status_code=303)
    async with db.transaction() as conn:
        await customers.delete(
            conn, project_id=project_id, ref=row["id"], origin=cockpit_session.origin(request)
        )
    return Redirect("/cockpit/customers?" + "deleted=1", status_code=303)


HANDLERS = [
    list_customers,
    show_customer,
    edit_customer,
    save_customer,
    confirm_delete,
    delete_customer,
]
