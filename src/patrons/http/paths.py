"""Where a request path leads, split in one place.

Litestar routes everything, but a few decisions are taken before it runs, on the raw path: is
this an authenticated /v1 call, is it one of the fast lane's customer calls, which rate-limit
budget it spends, which OAuth scope it needs. All of them read the same split, so they cannot
disagree about what a path is (a trailing slash, a `%2F` inside an id).
"""

from __future__ import annotations

_PREFIX = "/v1/"


def api_segments(path: str) -> tuple[str, ...] | None:
    """`/v1/customers/a%2Fb` → ("customers", "a%2Fb"); `/v1` → (); None outside /v1.

    The path is the raw one (the Gateway routes on `raw_path`), so segments stay
    percent-encoded and `%2F` never splits one. One trailing slash is ignored, as Litestar's
    router ignores it.
    """
    if path.startswith(_PREFIX):
        rest = path[4:]
        if rest.endswith("/"):
            rest = rest[:-1]
        return tuple(rest.split("/")) if rest else ()
    return () if path == "/v1" else None


def canonical(path: str) -> bool:
    """No empty segment (`//`, except one trailing slash) and no `.` or `..` segment.

    Litestar's router would quietly resolve such a path to a route (`//v1/customers/x` to the
    customer route, skipping every decision above that expects `/v1/`); the Gateway answers
    them 404 instead, after authentication when they point under /v1.
    """
    if "//" not in path and "/." not in path:
        return True
    inner = path[1:-1] if path.endswith("/") else path[1:]
    return all(segment not in ("", ".", "..") for segment in inner.split("/"))


def collapsed(path: str) -> str:
    """`//v1//customers/./x` → `/v1/customers/x`: what a lax router would make of it."""
    return "/" + "/".join(s for s in path.split("/") if s not in ("", "."))
