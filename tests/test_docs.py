"""The served OpenAPI document is the official contract, cut to the operations Patrons serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

OFFICIAL = json.loads(
    (Path(__file__).parents[2] / "shared/reference/voucherify-openapi.json").read_text()
    if (Path(__file__).parents[2] / "shared/reference/voucherify-openapi.json").exists()
    else (
        Path(__file__).parents[1] / "src/patrons/api/contract/voucherify-openapi.json"
    ).read_text()
)
# Operations from the further official contracts (more-openapi/*.json) join the main ones,
# their components merged in (the main document's win), as api/docs.py does.
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
for _name in EXTRA_CONTRACTS:
    _file = Path(__file__).parents[2] / "shared/reference/more-openapi" / _name
    if not _file.exists():
        _file = Path(__file__).parents[1] / "src/patrons/api/contract" / _name
    _extra = json.loads(_file.read_text())
    for _path, _item in _extra["paths"].items():
        OFFICIAL["paths"].setdefault(_path, _item)
    for _section, _entries in _extra.get("components", {}).items():
        OFFICIAL["components"].setdefault(_section, {})
        for _key, _value in _entries.items():
            OFFICIAL["components"][_section].setdefault(_key, _value)
METHODS = ("get", "put", "post", "delete")
SERVED = {
    "list-customers",
    "create-customer",
    "get-customer",
    "update-customer",
    "delete-customer",
    "import-customers-using-csv",
    "update-customers-in-bulk",
    "update-customers-metadata-in-bulk",
    "list-customer-activity",
    "list-customer-activities",
    "list-customer-segments",
    "create-segment",
    "get-segment",
    "delete-segment",
    "list-segment",
    "list-async-actions",
    "get-async-action",
    "generate-oauth-token",
    "introspect-oauth-token",
    "revoke-oauth-token",
    "list-customer-redeemables",
    "customer-permanently-deletion",
    "create-campaign",
    "list-campaigns",
    "get-campaign",
    "generate-random-code",
    "create-voucher",
    "get-voucher",
    "update-voucher",
    "delete-voucher",
    "enable-voucher",
    "disable-voucher",
    "create-publication",
    "create-publication-1",
    "list-publications",
    "add-member",
    "create-order",
    "get-order",
    "update-order",
    "list-orders",
    "validate-stacked-discounts",
    "redeem-stacked-discounts",
    "get-redemption",
    "list-redemptions",
    "rollback-redemption",
    "rollback-stacked-redemptions",
    "validate-voucher",
    "redeem-voucher",
    "update-campaign",
    "delete-campaign",
    "enable-campaign",
    "disable-campaign",
    "add-vouchers-to-campaign",
    "add-voucher-with-specific-code-to-campaign",
    "list-vouchers",
    "update-voucher-balance",
    "list-voucher-transactions",
    "update-loyalty-card-balance",
    "update-loyalty-card-balance-1",
    "get-member",
    "get-member-1",
    "create-loyalty-program",
    "list-loyalty-programs",
    "track-custom-event",  # issue 18 (events.json); the consent calls are not in the spec
    # webhooks (issue 18): management.json, with the project's own App keys
    "create-webhook",
    "list-webhooks",
    "get-webhook",
    "update-webhook",
    "delete-webhook",
    # exports (issue 18); download-export is GET /v1/exports/{id}?token=…
    "create-export",
    "list-exports",
    "get-export",
    "delete-export",
    "download-export",
}


def operations(doc: dict) -> dict[str, tuple[str, str, dict]]:
    return {
        op["operationId"]: (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def test_served_operations_match_the_official_spec(anon) -> None:
    served = anon.get("/openapi.json")
    assert served.status_code == 200
    doc = served.json()
    ours, official = operations(doc), operations(OFFICIAL)
    assert set(ours) == SERVED
    for operation_id, (path, method, op) in ours.items():
        assert official[operation_id][:2] == (path, method)
        assert op == official[operation_id][2], operation_id  # parameters, bodies, responses
    assert doc["components"] == OFFICIAL["components"]
    assert doc["servers"][0]["url"].startswith("http://127.0.0.1:")


def test_every_served_operation_answers(api) -> None:
    # Each documented operation is routed (no 404/405 from the router for its method).
    doc = api.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method in item:
            if method not in METHODS:
                continue
            url = path.replace("{customerId}", "x").replace("{segmentId}", "seg_x")
            url = url.replace("{asyncActionId}", "aa_x")
            response = api.request(method.upper(), url)
            assert response.status_code != 405, (method, path)
            if response.status_code == 404:
                assert response.json().get("resource_type"), (method, path, response.text)


def test_docs_page(anon) -> None:
    page = anon.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text


def test_docs_page_works_offline(anon) -> None:
    # Swagger UI comes from the swagger-ui-bundle package, served by Patrons: no CDN.
    page = anon.get("/docs").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs
    for ref in refs:
        assert ref.startswith("/docs/assets/"), ref  # no other host
        asset = anon.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0
    assert "<script>" not in page  # no inline script (strict CSP pages work too)
    bundle = anon.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert anon.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert anon.get("/docs/assets/index.html").status_code == 404  # only the files /docs uses
    assert anon.get("/docs/assets/..%2Fpyproject.toml").status_code == 404
