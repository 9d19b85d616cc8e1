"""The outermost ASGI layer, in front of Litestar.

- Routes on `raw_path`: Litestar routes on the decoded path, which turns `a%2Fb` into two
  segments. With the raw path, a percent-encoded id stays one segment and the handler decodes
  it exactly once (http.requests.path_id).
- Splits the path once (http.paths): that split decides /v1 or not, the fast lane, the
  rate-limit budget and the OAuth scope; Litestar routes the rest.
- Answers the hottest customer calls itself (api/fast_lane.py: GET /v1/customers/{id}, the
  list, POST /v1/customers, PUT /v1/customers/{id}).
- Renders every refusal and unexpected exception with the one renderer (http.errors).
- Measures every request (metrics and one access-log line, by route template).
- Gives every request an id (`v-…`), sent back as `X-Request-Id` and used in errors.
- Authenticates `/v1/` requests by X-App-Id/X-App-Token or an OAuth Bearer token before any
  routing or body reading, then spends the project's rate-limit budget (api/rate_limits.py)
  when limits are on.
- Rejects a declared Content-Length above the limit before reading the body.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import MethodNotAllowedException

from patrons import observability
from patrons.api import fast_lane, idempotency
from patrons.api.rate_limits import RateLimiter
from patrons.core import ids
from patrons.core.errors import PatronsError, PayloadTooLarge, RouteNotFound, TooManyRequests
from patrons.db.database import Database
from patrons.http.errors import send_error, unexpected
from patrons.http.paths import api_segments, canonical, collapsed
from patrons.http.responses import send_json
from patrons.oauth.service import BearerAuthenticator
from patrons.projects.service import Authenticator, Project

Scope = dict[str, Any]
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Gateway:
    def __init__(
        self, app: Any, *, authenticator: Any, max_body: int, access_log: bool = True
    ) -> None:
        self.app = app
        self.authenticator: Authenticator | None = authenticator
        self.bearer: BearerAuthenticator | None = None  # set at start-up
        self.rate_limiter: RateLimiter | None = None  # set at start-up when limits are on
        self.max_body = max_body
        self.db: Database | None = None  # set at start-up, for the fast lane
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = observability.now()
        raw_path = scope.get("raw_path")
        if raw_path:
            scope["path"] = raw_path.split(b"?", 1)[0].decode("latin-1")
        request_id = ids.request_id()
        scope["patrons_request_id"] = request_id
        header_value = request_id.encode()
        status = [500]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", header_value)]
            await send(message)

        try:
            lane = await self._dispatch(scope, receive, send_with_id, request_id)
            if lane is not None:
                raw_id, project, db, limited = lane
                # With no rate-limit headers due, the answer goes out on the server's own
                # `send`, the request id added by the lane (one wrapper less on the hot path).
                extra = ((b"x-request-id", header_value),) if limited is None else ()
                status[0] = await fast_lane.answer(
                    scope,
                    receive,
                    send if limited is None else limited,
                    raw_id,
                    db=db,
                    project=project,
                    request_id=request_id,
                    max_body=self.max_body,
                    headers=extra,
                )
        finally:
            route = scope.get("patrons_route") or scope.get("path_template") or self._route(scope)
            observability.observe(
                scope["method"],
                route,
                status[0],
                observability.now() - started,
                request_id,
                self.access_log,
            )

    async def _dispatch(
        self, scope: Scope, receive: Any, send: Any, request_id: str
    ) -> tuple[str | None, Project, Database, Any] | None:
        """Answers the request, or returns (raw id, project, database, send) for the fast lane
        to answer it: `send` the wrapper that adds rate-limit headers, or None when none are
        due (the caller then answers on the server's own `send`)."""
        path = scope["path"]
        segments = api_segments(path)
        odd = not canonical(path)  # `//v1/…`, `/v1/a//b`, `/./`: no route has such a name
        if odd:
            segments = api_segments(collapsed(path))
            scope["patrons_route"] = "unmatched"
        if segments is not None:
            try:
                project = await self._authenticate(scope)  # a too-long body refused first
                scope["patrons_project"] = project
                if self.rate_limiter is not None:
                    send = await self._spend_budget(scope, segments, send, project.id, request_id)
                    if send is None:
                        return None
            except PatronsError as exc:
                await send_error(send, exc, request_id)
                return None
            except Exception as exc:  # nothing was sent yet: the one 500, as everywhere
                await send_error(
                    send, unexpected(exc, scope["method"], "gateway", request_id), request_id
                )
                return None
        if odd:  # authenticated (and counted) like any /v1 call, then an unknown route
            await send_error(send, RouteNotFound(f"Cannot {scope['method']} {path}"), request_id)
            return None
        if segments is not None:
            # Idempotency-Key (api/idempotency.py): only keyed POST/PUT pay for the lookup.
            if scope["method"] in idempotency.METHODS and self.db is not None:
                raw_key = idempotency.key_of(scope)
                if raw_key is not None:
                    try:
                        await idempotency.handle(
                            self.app,
                            scope,
                            receive,
                            send,
                            db=self.db,
                            project_id=project.id,
                            raw_key=raw_key,
                            max_body=self.max_body,
                        )
                    except PatronsError as exc:  # raised only before anything was sent
                        await send_error(send, exc, request_id)
                    return None
            found = fast_lane.lane(scope["method"], segments)
            if found is not None and self.db is not None:
                scope["patrons_route"], raw_id = found
                return raw_id, project, self.db, None if self.rate_limiter is None else send
        if scope["method"] == "OPTIONS":
            allow = self._allowed(path)
            if allow is not None:  # Litestar's own answer lists one handler's methods only
                await send_json(send, 204, b"", [(b"allow", allow.encode())])
                return None
        await self.app(scope, receive, send)
        return None

    def _allowed(self, path: str) -> str | None:
        """Every method the route at `path` serves (the list a 405 carries), or None when no
        route has the path. Litestar's router names them when asked for a method none has."""
        try:
            self.app.asgi_router.handle_routing(path=path.rstrip("/") or "/", method="TRACE")
        except MethodNotAllowedException as exc:
            methods = {m.strip() for m in (exc.headers or {}).get("allow", "").split(",")}
            return ", ".join(m for m in _METHOD_ORDER if m in methods | {"OPTIONS"})
        except Exception:
            return None
        return None

    def _route(self, scope: Scope) -> str:
        """The route template of a request Litestar did not route (refused by auth or a limit,
        an idempotent replay): asked of Litestar's router only then, so metrics and logs
        name the route; "unmatched" when no route has the path."""
        try:
            found = self.app.asgi_router.handle_routing(
                path=scope["path"].rstrip("/") or "/", method=scope["method"]
            )
        except Exception:
            return "unmatched"
        return str(found[-1])

    def _check_length(self, value: bytes) -> None:
        """A declared Content-Length above the limit is refused before the body is read."""
        try:
            length = int(value)
        except ValueError:
            return
        if length > self.max_body:
            raise PayloadTooLarge(self.max_body)

    async def _authenticate(self, scope: Scope) -> Any:
        """The calling project; any Content-Length above the limit is refused first (one walk
        over the headers does both)."""
        app_id = app_token = authorization = None
        for name, value in scope["headers"]:
            if name == b"x-app-id":
                app_id = value.decode("latin-1")
            elif name == b"x-app-token":
                app_token = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                self._check_length(value)
        # App keys win when sent (the SDKs always send them); a Bearer token is the alternative.
        if app_id is None and app_token is None and authorization is not None:
            assert self.bearer is not None
            return await self.bearer.authenticate(authorization, scope["path"])
        assert self.authenticator is not None
        return await self.authenticator.authenticate(app_id, app_token)

    async def _spend_budget(
        self, scope: Scope, segments: tuple[str, ...], send: Any, project_id: str, request_id: str
    ) -> Any:
        """`send` with the rate-limit headers added, or None after answering 429 itself."""
        assert self.rate_limiter is not None
        verdict = await self.rate_limiter.hit(project_id, scope["method"], segments)
        if verdict is None:
            return send
        headers = verdict.headers()
        if not verdict.allowed:
            await send_error(send, TooManyRequests(), request_id, headers)
            return None

        async def send_with_limits(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        return send_with_limits
