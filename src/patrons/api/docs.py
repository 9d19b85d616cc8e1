"""The served API description: Voucherify's own OpenAPI document, cut to what Patrons serves.

Patrons' handlers parse requests by hand (to accept every form the SDKs send), so an OpenAPI
document generated from their signatures would be thin and wrong. Instead the official
contract (api/contract/voucherify-openapi.json, the spec this server implements) is served,
keeping exactly the operations whose path and method Patrons routes — so the document's
parameters and schemas are the spec's own. `/docs` renders it with Swagger UI, whose JS and
CSS come from the `swagger-ui-bundle` package and are served here (`/docs/assets/…`): no CDN,
so the page works on a machine without internet access.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotFoundException
from swagger_ui_bundle import swagger_ui_path

CONTRACT = Path(__file__).parent / "contract" / "voucherify-openapi.json"
# Further official contracts (more-openapi/*.json, e.g. oauth.json) whose operations Patrons
# serves: their paths and missing components are merged into the main one.
EXTRA_CONTRACTS = (
    "oauth.json",
    "campaigns.json",
    "vouchers.json",
    "publications.json",
    "loyalties.json",
    "orders.json",
    "validations.json",
    "redemptions.json",
    "exports.json",
    "events.json",
    "management.json",
)
_PARAM = re.compile(r"\{[^}]*\}")
_METHODS = ("get", "put", "post", "delete", "patch")


def _shape(path: str) -> str:
    return _PARAM.sub("{}", path.rstrip("/") or "/")


def served_operations(app: Litestar) -> set[tuple[str, str]]:
    """(path shape, method) for every /v1 and /management/v1 route the app serves."""
    served = set()
    for route in app.routes:
        if not route.path.startswith(("/v1", "/management/v1")):
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
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body><div id="ui" data-url="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/patrons-docs.js"></script>
</body></html>"""
# Inline scripts would need 'unsafe-inline' under a strict Content-Security-Policy: the one
# line that starts Swagger UI is an asset too.
_START = b'SwaggerUIBundle({url: document.getElementById("ui").dataset.url, dom_id: "#ui"});\n'
# The files /docs uses, by name; nothing else under the package is served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@cache
def _asset(name: str) -> bytes:
    return (Path(str(swagger_ui_path)) / name).read_bytes()


@get("/docs", include_in_schema=False, media_type="text/html")
async def docs_page() -> str:
    return _PAGE


@get("/docs/assets/{name:str}", include_in_schema=False)
async def docs_asset(name: str) -> Response[bytes]:
    headers = {"Cache-Control": "public, max-age=86400"}
    if name == "patrons-docs.js":
        return Response(_START, media_type="text/javascript; charset=utf-8", headers=headers)
    if name not in ASSETS:
        raise NotFoundException()
    return Response(_asset(name), media_type=ASSETS[name], headers=headers)


HANDLERS = [openapi_json, docs_page, docs_asset]
