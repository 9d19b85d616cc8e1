"""/cockpit/segments: the list, one segment with its members (the customers list filtered by
`segment_id`, as GET /v1/customers?segment_id= reads them), and a new segment from a rule."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from patrons.cockpit.auth import Session, form_of
from patrons.cockpit.customers import customer_url
from patrons.cockpit.render import page
from patrons.core.errors import InvalidPayload, PatronsError
from patrons.customers import service as customers
from patrons.db.database import Database
from patrons.http.requests import path_id, query_params, validation_details
from patrons.segments import service as segments
from patrons.segments.schemas import SegmentCreate

AnyRequest = Request[Any, Any, Any]
RULE_TYPES = ("auto-update", "passive")
EXAMPLE_RULE = '{\n  "junction": "and",\n  "email": {"conditions": {"$is": ["ann@example.com"]}}\n}'


def _plain(value: Any) -> Any:
    """A wire struct as the JSON the API would send (Raw fields included), for templates."""
    return msgspec.json.decode(msgspec.json.encode(value))


def segment_url(segment_id: str) -> str:
    return "/cockpit/segments/" + quote(segment_id, safe="")


async def _list_page(
    request: AnyRequest,
    db: Database,
    cockpit_session: Session,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
) -> Response[str]:
    params = query_params(request)
    number = int(params["page"]) if params.get("page", "").isdigit() else 1
    listing = {"limit": "50", "page": str(max(1, min(number, 100)))}
    result = _plain(await segments.list_(db, project_id=cockpit_session.project.id, params=listing))
    shown = int(listing["page"]) * 50
    return page(
        "segments.html",
        status=400 if error else 200,
        title="Segments",
        session=cockpit_session,
        segments=result["data"],
        total=result["total"],
        next_url=f"/cockpit/segments?page={int(listing['page']) + 1}"
        if result["total"] > shown
        else None,
        form=form or {"type": "auto-update", "filter": EXAMPLE_RULE},
        rule_types=RULE_TYPES,
        error=error,
        segment_url=segment_url,
    )


@get("/segments")
async def list_segments(
    request: AnyRequest, db: Database, cockpit_session: Session
) -> Response[str]:
    return await _list_page(request, db, cockpit_session)


def segment_of(form: dict[str, str]) -> SegmentCreate:
    try:
        rule = json.loads(form.get("filter", ""))
    except ValueError:
        raise InvalidPayload(
            "The rule must be a JSON object (a Voucherify segment filter)"
        ) from None
    if not isinstance(rule, dict):
        raise InvalidPayload("The rule must be a JSON object (a Voucherify segment filter)")
    body = {"name": form.get("name", "").strip(), "type": form.get("type", ""), "filter": rule}
    if body["type"] not in RULE_TYPES:
        raise InvalidPayload("Property .type must be equal to one of " + ", ".join(RULE_TYPES))
    try:
        return msgspec.convert(body, SegmentCreate)
    except msgspec.ValidationError as exc:
        raise InvalidPayload(validation_details(exc)) from None


@post("/segments", status_code=303)
async def create_segment(
    request: AnyRequest, db: Database, cockpit_session: Session
) -> Response[Any]:
    form = await form_of(request, cockpit_session)
    try:
        body = segment_of(form)
        async with db.transaction() as conn:
            created = await segments.create(
                conn,
                project_id=cockpit_session.project.id,
                body=body,
                resolve=customers.resolve_many,
            )
    except PatronsError as exc:
        if exc.status >= 500:
            raise
        return await _list_page(
            request, db, cockpit_session, form=form, error=exc.details or exc.message
        )
    return Redirect(segment_url(created.id), status_code=303)


@get("/segments/{segment_id:str}")
async def show_segment(
    request: AnyRequest, segment_id: str, db: Database, cockpit_session: Session
) -> Response[str]:
    project_id = cockpit_session.project.id
    segment = _plain(
        await segments.get(
            db, project_id=project_id, segment_id=path_id(segment_id, resource="segment")
        )
    )
    params = query_params(request)
    listing = {"limit": "50", "segment_id": segment["id"]}
    if params.get("starting_after"):
        listing["starting_after"] = params["starting_after"]
    members = _plain(await customers.list_(db, project_id=project_id, params=listing))
    next_url = None
    if members["has_more"] and members["customers"]:
        next_url = (
            segment_url(segment["id"])
            + "?"
            + urlencode({"starting_after": members["customers"][-1]["created_at"]})
        )
    return page(
        "segment.html",
        title=segment["name"],
        session=cockpit_session,
        segment=segment,
        members=members["customers"],
        total=members["total"],
        next_url=next_url,
        customer_url=customer_url,
    )


HANDLERS = [list_segments, create_segment, show_segment]
