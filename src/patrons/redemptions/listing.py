"""GET /v1/redemptions: limit, page, result, campaign (name), customer (id or source_id),
order (±created_at), created_at[before|after] and the spec's `filters` (`$is`, `$is_not`,
`$in`, `$not_in` on voucher_code, related_object_id, related_object_parent_id,
parent_redemption_id, failure_code, result, object, customer_id)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import Raw

from patrons.core import pagination
from patrons.core.clock import parse_datetime_ms
from patrons.core.errors import InvalidQueryParams, NotFound
from patrons.core.querystring import simple_filters, text_param
from patrons.customers import service as customers
from patrons.db.database import Database
from patrons.redeemables import campaigns
from patrons.redemptions import repository
from patrons.redemptions.schemas import RedemptionList
from patrons.redemptions.service import redemption_wire

MAX_PAGE = 99  # ParameterPage99
NOTHING = "\x00none"  # a value no row holds: a filter naming an unknown customer or campaign


def _bound(params: Mapping[str, Any], side: str) -> int | None:
    created = params.get("created_at")
    raw = created.get(side) if isinstance(created, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidQueryParams(f"Property .created_at.{side} must be a date-time")
    try:
        return parse_datetime_ms(raw)
    except ValueError:
        raise InvalidQueryParams(f"Property .created_at.{side} must be a date-time") from None


async def list_(db: Database, *, project_id: str, params: Mapping[str, Any]) -> RedemptionList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=MAX_PAGE)
    ordering = text_param(params, "order") or "-created_at"
    if ordering not in ("created_at", "-created_at"):
        raise InvalidQueryParams("Property .order must be one of created_at, -created_at")
    conditions = simple_filters(params.get("filters"), repository.FILTER_COLUMNS)
    result = text_param(params, "result")
    if result is not None:
        conditions.append(("result", "is", [result.upper()]))
    customer = text_param(params, "customer")
    if customer is not None:
        row = await customers.resolve(db, project_id=project_id, ref=customer)
        conditions.append(("customer_id", "is", [NOTHING if row is None else row["id"]]))
    campaign = text_param(params, "campaign")
    if campaign is not None:
        try:
            found = await campaigns.get_row(db, project_id=project_id, ref=campaign)
            conditions.append(("related_object_parent_id", "is", [found["id"]]))
        except NotFound:
            conditions.append(("related_object_parent_id", "is", [NOTHING]))
    created = (_bound(params, "before"), _bound(params, "after"))
    rows = await repository.page(
        db,
        project_id=project_id,
        conditions=conditions,
        created=created,
        descending=ordering.startswith("-"),
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await repository.count(
        db, project_id=project_id, conditions=conditions, created=created
    )
    return RedemptionList(
        redemptions=[Raw(msgspec.json.encode(redemption_wire(r))) for r in rows], total=total
    )
