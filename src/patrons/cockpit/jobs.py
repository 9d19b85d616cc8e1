"""/cockpit/async-actions: every job with its type, status and progress (refreshed live by
static/cockpit.js), one job with its result, failed rows and report, and a CSV import
uploaded from the page exactly as POST /v1/customers/importCSV takes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from patrons.async_actions import service as async_actions
from patrons.cockpit.auth import Session, check_post
from patrons.cockpit.render import page
from patrons.core.errors import InvalidPayload
from patrons.customers.csv_upload import CsvUpload
from patrons.customers.jobs import IMPORT_CSV
from patrons.db.database import Database
from patrons.http.requests import path_id, query_params, request_id_of

AnyRequest = Request[Any, Any, Any]
ACTIVE = ("ENQUEUED", "IN_PROGRESS")


def _plain(value: Any) -> Any:
    """A wire struct as the JSON the API would send (Raw fields included), for templates."""
    return msgspec.json.decode(msgspec.json.encode(value))


async def _listing(request: AnyRequest, db: Database, cockpit_session: Session) -> dict[str, Any]:
    params = query_params(request)
    listing = {"limit": "50"}
    if params.get("end_date"):
        listing["end_date"] = params["end_date"]
    result = _plain(
        await async_actions.list_(db, project_id=cockpit_session.project.id, params=listing)
    )
    actions = result["async_actions"]
    older = None
    if result["has_more"] and actions:
        older = "/cockpit/async-actions?" + urlencode({"end_date": actions[-1]["created_at"]})
    return {
        "actions": actions,
        "older_url": older,
        "active": any(a["status"] in ACTIVE for a in actions),
        "poll_url": "/cockpit/async-actions/table"
        + ("?" + urlencode({"end_date": listing["end_date"]}) if "end_date" in listing else ""),
    }


@get("/async-actions")
async def list_jobs(request: AnyRequest, db: Database, cockpit_session: Session) -> Response[str]:
    return page(
        "jobs.html",
        title="Jobs",
        session=cockpit_session,
        **await _listing(request, db, cockpit_session),
    )


@get("/async-actions/table")
async def jobs_table(request: AnyRequest, db: Database, cockpit_session: Session) -> Response[str]:
    """The list's table alone, polled by the page while a job is running."""
    return page("jobs_table.html", **await _listing(request, db, cockpit_session))


async def _job(db: Database, cockpit_session: Session, raw_id: str) -> dict[str, Any]:
    action = _plain(
        await async_actions.get(
            db,
            project_id=cockpit_session.project.id,
            action_id=path_id(raw_id, resource="async_action"),
        )
    )
    result = action.get("result")
    action["failed_rows"] = result.get("failed") if isinstance(result, dict) else None
    action["reports"] = result.get("reports") if isinstance(result, dict) else None
    return action


@get("/async-actions/{action_id:str}")
async def show_job(action_id: str, db: Database, cockpit_session: Session) -> Response[str]:
    action = await _job(db, cockpit_session, action_id)
    return page(
        "job.html",
        title=action["type"],
        session=cockpit_session,
        action=action,
        active=action["status"] in ACTIVE,
    )


@get("/async-actions/{action_id:str}/status")
async def job_status(action_id: str, db: Database, cockpit_session: Session) -> Response[str]:
    """The job's status block alone, polled by the job page until the job ends."""
    action = await _job(db, cockpit_session, action_id)
    return page("job_status.html", action=action, active=action["status"] in ACTIVE)


@post("/async-actions/import", status_code=303)
async def upload_csv(request: AnyRequest, db: Database, cockpit_session: Session) -> Response[Any]:
    """A multipart form with the file as `file`; the CSRF token rides in the query string,
    so the upload is streamed into the spool file without reading the form first."""
    check_post(request, cockpit_session, query_params(request).get("csrf"))
    upload = CsvUpload()
    try:
        try:
            await upload.receive(request.headers.get("content-type", ""), request.stream())
        except InvalidPayload as exc:
            listing = await _listing(request, db, cockpit_session)
            return page(
                "jobs.html",
                status=400,
                title="Jobs",
                session=cockpit_session,
                error=exc.details or exc.message,
                **listing,
            )
        async with db.transaction() as conn:
            action_id = await async_actions.enqueue(
                conn,
                project_id=cockpit_session.project.id,
                type_=IMPORT_CSV,
                request_id=request_id_of(request),
                payload=upload.spool,
            )
    finally:
        upload.close()
    return Redirect(f"/cockpit/async-actions/{action_id}", status_code=303)


HANDLERS = [list_jobs, jobs_table, upload_csv, show_job, job_status]
