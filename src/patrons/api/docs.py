"""The served API description: Voucherify's own OpenAPI document, cut to what Patrons serves.

Patrons' handlers parse requests by hand (to accept every form the SDKs send), so an OpenAPI
document generated from their signatures would be thin and wrong. Instead the official
contract (api/contract/voucherify-openapi.json, the spec this server implements) is served,
keeping exactly the operations whose path and method Patrons routes — so the document's
parameters and schemas are the spec's own. `/docs` renders it with Swagger UI.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get

CONTRACT = Path(__file__).parent / "contract" / "voucherify-openapi.json"
# Further official contracts (more-openapi/*.json, e.g. oauth.json) whose operations Patrons
# serves: their paths and missing components are merged into the main one.
EXTRA_CONTRACTS = (
    "oauth.json",
    "campaigns.json",
    "vouchers.json",
    "publications.json",
    "loyalties.json",
)
_PARAM = re.compile(r"\{[^}]*\}")
_METHODS = ("get", "put", "post", "delete", "patch")


def _shape(path: str) -> str:
    return _PARAM.sub("{}", path.rstrip("/") or "/")


def served_operations(app: Litestar) -> set[tuple[str, str]]:
    """(path shape, method) for every /v1 route the app serves."""
    served = set()
    for route in app.routes:
        if not route.path.startswith("/v1"):
            continue
        for method in getattr(route, "methods", ()):
            if method.lower() in _METHODS:
                served.add((_shape(route.path), method.lower()))
    return served


@cache
def _contract() -> dict[str, Any]:
    spec = json.loads(CONTRACT.read_text())
    for name in EXTRA_CONTRACTS:
        extra = json.loads((CONTRACT.parent / name).read_text())
        for path, item in extra["paths"].items():
            spec["paths"].setdefault(path, item)
        for section, entries in extra.get("components", {}).items():
            merged = spec["components"].setdefault(section, {})
            for key, value in entries.items():
                merged.setdefault(key, value)
    return spec


def document(app: Litestar, base_url: str) -> dict[str, Any]:
    spec = _contract()
    served = served_operations(app)
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        kept = {
            key: value
            for key, value in item.items()
            if key not in _METHODS or (_shape(path), key) in served
        }
        if any(key in _METHODS for key in kept):
            paths[path] = kept
    return {
        **spec,
        "info": {**spec["info"], "title": "Patrons (Voucherify Customers API)"},
        "servers": [{"url": base_url}],
        "paths": paths,
    }


@get("/openapi.json", include_in_schema=False)
async def openapi_json(request: Request) -> Response[dict[str, Any]]:
    base = str(request.base_url).rstrip("/")
    return Response(document(request.app, base))


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Patrons API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


@get("/docs", include_in_schema=False, media_type="text/html")
async def docs_page() -> str:
    return _PAGE


HANDLERS = [openapi_json, docs_page]
