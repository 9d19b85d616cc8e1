"""The cockpit's Router: pages, static files, the session dependency and HTML error pages.

api/app.py mounts `router(secret=…)` when PATRONS_COCKPIT is on. The Gateway lets /cockpit
through without App keys (it authenticates /v1 only); the pages authenticate by the session
cookie (cockpit/session.py), every POST checks its origin and CSRF token (cockpit/auth.py).
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from patrons.cockpit import auth, customers, jobs, segments
from patrons.cockpit.render import page
from patrons.core.errors import NotFound, PatronsError
from patrons.http.errors import unexpected

log = logging.getLogger("patrons.cockpit")
AnyRequest = Request[Any, Any, Any]

_STATIC = {
    "cockpit.css": "text/css; charset=utf-8",
    "cockpit.js": "text/javascript; charset=utf-8",
}
_FILES = {
    name: resources.files("patrons.cockpit").joinpath("static", name).read_bytes()
    for name in _STATIC
}


@get("/static/{name:str}", sync_to_thread=False)
def static_file(name: str) -> Response[bytes]:
    if name not in _FILES:
        raise NotFound("file", name)
    return Response(
        content=_FILES[name],
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def _sign_in(request: AnyRequest, exc: Exception) -> Response[Any]:
    return Redirect("/cockpit", status_code=303)


def _error_page(request: AnyRequest, exc: Exception) -> Response[Any]:
    if isinstance(exc, PatronsError) and exc.status < 500:
        title = "Not found" if exc.status == 404 else exc.message
        return page(
            "error.html",
            status=exc.status,
            title=title,
            message=exc.details or exc.message,
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return page("error.html", status=exc.status_code, title="Not found", message=exc.detail)
    unexpected(exc, request.method, str(request.scope.get("path_template") or "cockpit"))
    return page(
        "error.html",
        status=500,
        title="Something went wrong",
        message="An unexpected error occurred. The request id identifies it in the logs.",
    )


def router(*, secret: str) -> Router:
    def provide_secret() -> str:
        return secret

    return Router(
        path="/cockpit",
        route_handlers=[
            *auth.HANDLERS,
            *customers.HANDLERS,
            *jobs.HANDLERS,
            *segments.HANDLERS,
            static_file,
        ],
        dependencies={
            "cockpit_secret": Provide(provide_secret, sync_to_thread=False),
            "cockpit_session": Provide(auth.provide_session),
        },
        exception_handlers={
            auth.SignInRequired: _sign_in,
            PatronsError: _error_page,
            Exception: _error_page,
        },
        include_in_schema=False,
    )
