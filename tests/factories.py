"""Factory functions for tests: create resources through the real API (black-box tests, the
`api` client) or through the services on a connection (in-process tests, `conn` + `tenant`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from patrons.customers.schemas import Customer
    from patrons.db.database import Conn, Row
    from patrons.projects.service import Credentials


def create_customer(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"source_id": "src-" + secrets.token_hex(6), "name": "Ada Lovelace"}
    body.update(overrides)
    response = api.post("/v1/customers", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def seed_customers(backend_url: str, project_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert customers straight into the database with chosen timestamps (for ordering tests).

    Each row needs `created_at` (epoch ms); `id` defaults to a fresh cust_ id.
    """
    import asyncio

    from patrons.core import ids
    from patrons.customers import repository
    from patrons.db import database

    async def run() -> None:
        db = await database.connect(backend_url, pg_pool_min=1, pg_pool_max=1)
        try:
            async with db.transaction() as conn:
                for row in rows:
                    values = {"id": ids.customer_id(), **row}
                    await repository.insert(conn, project_id=project_id, values=values)
                await repository.add_to_count(conn, project_id=project_id, delta=len(rows))
        finally:
            await db.close()

    asyncio.run(run())


def wait_done(api: httpx.Client, action_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll an async action until it is DONE or FAILED."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/async-actions/{action_id}").json()
        if body["status"] in ("DONE", "FAILED"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"async action still {body['status']}: {body}")
        time.sleep(0.05)


def upload_csv(api: httpx.Client, text: str | bytes) -> httpx.Response:
    data = text.encode() if isinstance(text, str) else text
    return api.post("/v1/customers/importCSV", files={"file": ("customers.csv", data, "text/csv")})


# --- redeemables: campaigns, vouchers, publications, holders ----------------------------------

DISCOUNT = {"type": "PERCENT", "percent_off": 10}


def create_campaign(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """A campaign (DISCOUNT_COUPONS, 10% off, no generated codes unless `vouchers_count`)."""
    kind = overrides.get("campaign_type", "DISCOUNT_COUPONS")
    voucher: dict[str, Any] = {
        "DISCOUNT_COUPONS": {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT},
        "REFERRAL_PROGRAM": {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT},
        "GIFT_VOUCHERS": {"type": "GIFT_VOUCHER", "gift": {"amount": 5000}},
        "LOYALTY_PROGRAM": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 0}},
    }[kind]
    body: dict[str, Any] = {
        "name": "camp-" + secrets.token_hex(4),
        "campaign_type": kind,
        "voucher": voucher,
    }
    body.update(overrides)
    response = api.post("/v1/campaigns", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def create_voucher(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """A standalone discount voucher with a random code (POST /v1/vouchers)."""
    body: dict[str, Any] = {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT}
    body.update(overrides)
    response = api.post("/v1/vouchers", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def publish(api: httpx.Client, customer: str | dict[str, Any], **body: Any) -> dict[str, Any]:
    """POST /v1/publications for a customer given by source_id (str) or as an object."""
    who = {"source_id": customer} if isinstance(customer, str) else customer
    response = api.post("/v1/publications", json={"customer": who, **body})
    assert response.status_code == 200, response.text
    return response.json()


def redeemables(api: httpx.Client, customer: str, params: Any = None) -> dict[str, Any]:
    """GET /v1/customers/{customer}/redeemables (params: dict, list of pairs or a raw string)."""
    from urllib.parse import quote

    url = f"/v1/customers/{quote(customer, safe='')}/redeemables"
    if isinstance(params, str):
        response = api.get(f"{url}?{params}")
    else:
        response = api.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def db_fetch(backend_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one SQL statement (PostgreSQL `$n` placeholders; SQLite too) straight from the DB."""
    import asyncio

    from patrons.db import database

    async def run() -> list[dict[str, Any]]:
        db = await database.connect(backend_url, pg_pool_min=1, pg_pool_max=1)
        try:
            return [dict(r) for r in await db.fetch(sql, *args)]
        finally:
            await db.close()

    return asyncio.run(run())


# --- in-process: on the test's connection (tests/<domain>/), inside its rolled-back transaction


async def add_customer(conn: Conn, tenant: Credentials, **overrides: Any) -> Customer:
    """A customer written by the customers service (event, counter and segments included)."""
    import msgspec

    from patrons.core.origin import Origin
    from patrons.customers import service
    from patrons.customers.schemas import CustomerCreate

    fields: dict[str, Any] = {"source_id": "src-" + secrets.token_hex(6), "name": "Ada Lovelace"}
    fields.update(overrides)
    body = msgspec.convert(fields, CustomerCreate)
    return await service.upsert(conn, project_id=tenant.project_id, body=body, origin=Origin())


async def add_segment(
    conn: Conn, tenant: Credentials, *, type_: str = "static", **overrides: Any
) -> Row:
    """A segment row written by the segments repository (no members: add them separately)."""
    from patrons.core import ids
    from patrons.core.clock import now_ms
    from patrons.segments import repository

    values: dict[str, Any] = {
        "segment_id": ids.segment_id(),
        "name": "seg-" + secrets.token_hex(4),
        "filter_json": None,
        "created_at": now_ms(),
    }
    values.update(overrides)
    return await repository.insert(conn, project_id=tenant.project_id, type_=type_, **values)
