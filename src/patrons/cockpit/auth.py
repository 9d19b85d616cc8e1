"""Sign-in and sign-out, the session dependency, and the checks every cockpit POST passes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from patrons.cockpit import session
from patrons.cockpit.render import page
from patrons.core.errors import InvalidPayload, PatronsError
from patrons.core.origin import Origin
from patrons.db.database import Database
from patrons.http.requests import read_form, request_id_of
from patrons.projects import service as projects
from patrons.projects.service import Project

AnyRequest = Request[Any, Any, Any]


class SignInRequired(Exception):
    """No valid session: the router answers with a redirect to the sign-in form."""


class ForeignOrigin(PatronsError):
    status = 403
    key = "forbidden"
    message = "Forbidden"


@dataclass(frozen=True, slots=True)
class Session:
    project: Project
    key: bytes
    nonce: str

    @property
    def csrf(self) -> str:
        return session.csrf_token(self.key, self.nonce)

    def origin(self, request: AnyRequest) -> Origin:
        """Changes made in the cockpit are the dashboard's (Voucherify's USER_PORTAL)."""
        return Origin(
            request_id=request_id_of(request), channel="USER_PORTAL", app_id=self.project.app_id
        )


async def _session_of(request: AnyRequest, db: Database, secret: str) -> Session | None:
    cookie = request.cookies.get(session.COOKIE)
    claims = session.claims_of(cookie)
    if claims is None or cookie is None:
        return None
    key_row = await projects.key_of(db, app_id=claims.app_id)
    if key_row is None:
        return None
    key = session.signing_key(secret, key_row[1])
    if not session.verify(cookie, key):
        return None
    return Session(Project(key_row[0], claims.app_id), key, claims.nonce)


async def provide_session(request: AnyRequest, db: Database, cockpit_secret: str) -> Session:
    found = await _session_of(request, db, cockpit_secret)
    if found is None:
        raise SignInRequired()
    return found


def check_post(request: AnyRequest, current: Session, sent_token: str | None) -> None:
    """A signed-in POST: from this origin, carrying the session's CSRF token."""
    if not session.same_origin(request.scope):  # type: ignore[arg-type]
        raise ForeignOrigin("The request came from another site")
    if not session.csrf_ok(current.key, current.nonce, sent_token):
        raise ForeignOrigin("The form's CSRF token is missing or wrong; reload the page")


async def form_of(request: AnyRequest, current: Session) -> dict[str, str]:
    fields = await read_form(request)
    check_post(request, current, fields.pop("csrf", None))
    return fields


@get("/", name="cockpit:home")
async def home(request: AnyRequest, db: Database, cockpit_secret: str) -> Response[Any]:
    if await _session_of(request, db, cockpit_secret) is not None:
        return Redirect("/cockpit/customers", status_code=303)
    return page("login.html", title="Sign in")


@post("/login", status_code=303)
async def login(request: AnyRequest, db: Database, cockpit_secret: str) -> Response[Any]:
    if not session.same_origin(request.scope):  # type: ignore[arg-type]
        raise ForeignOrigin("The sign-in form was posted from another site")
    try:
        fields = await read_form(request)
    except InvalidPayload:
        fields = {}
    app_id = fields.get("app_id", "").strip()
    app_token = fields.get("app_token", "").strip()
    key_row = await projects.key_of(db, app_id=app_id) if app_id else None
    if key_row is None or not hmac.compare_digest(key_row[1], projects.hash_token(app_token)):
        return page(
            "login.html",
            status=401,
            title="Sign in",
            error="Unknown App ID or wrong App Token.",
            app_id=app_id,
        )
    cookie = session.issue(app_id, session.signing_key(cockpit_secret, key_row[1]))
    secure = session.is_https(request.scope)  # type: ignore[arg-type]
    return Redirect(
        "/cockpit/customers",
        status_code=303,
        headers={"Set-Cookie": session.set_cookie_header(cookie, secure=secure)},
    )


@post("/logout", status_code=303)
async def logout(request: AnyRequest, cockpit_session: Session) -> Response[Any]:
    await form_of(request, cockpit_session)
    secure = session.is_https(request.scope)  # type: ignore[arg-type]
    return Redirect(
        "/cockpit",
        status_code=303,
        headers={"Set-Cookie": session.clear_cookie_header(secure=secure)},
    )


HANDLERS = [home, login, logout]
