"""GET /v1/publications: limit, page, order (the spec's twelve keys), campaign (name), customer
(id or source_id), voucher (code), result, voucher_type, is_referral_code, source_id and the
spec's `filters` (`$is`, `$is_not`, `$in`, `$not_in`; AND only) on customer_id, campaign_name,
source_id, result, voucher_type, parent_object_id (campaign id) and related_object_id (voucher id).

Every publication Patrons stores succeeded (a failed one is only an activity), so `result`
FAILURE lists nothing. Each voucher published is its own row, so each item has one `voucher`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from msgspec import Raw

from patrons.core import pagination
from patrons.core.clock import format_ms
from patrons.core.errors import InvalidQueryParams
from patrons.core.jsonraw import raw_json
from patrons.core.querystring import Condition, simple_filters, text_param
from patrons.customers import service as customers
from patrons.db.database import Database, Row
from patrons.redeemables import repository
from patrons.redeemables.publications import simple_customer
from patrons.redeemables.schemas import PublicationList, PublicationListItem
from patrons.redeemables.wire import EMPTY_OBJECT, voucher_to_wire

MAX_PAGE = 100  # ParameterPage
NOTHING = ""  # a value no row holds (ids and types are never empty): an unknown name
VOUCHER_TYPES = {"discount": "DISCOUNT_VOUCHER", "loyalty": "LOYALTY_CARD"}
RESULTS = ("SUCCESS", "FAILURE")
# `filters` fields served: the columns' own, and `result` (answered here, see above).
FILTER_FIELDS = {*repository.PUBLICATION_FILTER_COLUMNS} - {"voucher_code"} | {"result"}


def _one_of(params: Mapping[str, Any], name: str, allowed: Sequence[str]) -> str | None:
    value = text_param(params, name)
    if value is not None and value not in allowed:
        raise InvalidQueryParams(f"Property .{name} must be one of " + ", ".join(allowed))
    return value


def _stored_values(field: str, values: list[str]) -> list[str]:
    if field == "voucher_type":  # the spec's names (discount, loyalty) → voucher types
        return [VOUCHER_TYPES.get(v.lower(), NOTHING) for v in values]
    return values


def _succeeded_pass(conditions: Sequence[Condition]) -> bool:
    """Whether stored publications (all SUCCESS) pass the `result` conditions."""
    for field, operator, values in conditions:
        if field == "result" and (("SUCCESS" in values) != (operator in ("is", "in"))):
            return False
    return True


def _voucher(row: Row) -> Raw:
    """ListPublicationsItemVoucher: the voucher's code, campaign, kind and value."""
    full = voucher_to_wire(row)
    voucher: dict[str, Any] = {"code": full.code, "object": "voucher", "campaign": full.campaign}
    if full.gift is not None:
        voucher["gift"] = full.gift
    if full.loyalty_card is not None:
        voucher["loyalty_card"] = full.loyalty_card
    if full.discount is not None:
        voucher["discount"] = full.discount
    voucher["is_referral_code"] = full.is_referral_code
    return Raw(msgspec.json.encode(voucher))


def _item(row: Row) -> PublicationListItem:
    customer = {
        "id": row["pub_customer_id"],
        "name": row["cu_name"],
        "email": row["cu_email"],
        "source_id": row["cu_source_id"],
        "metadata": row["cu_metadata"],
    }
    return PublicationListItem(
        id=row["pub_id"],
        created_at=format_ms(row["pub_created_at"]),
        customer_id=row["pub_customer_id"],
        tracking_id=row["cu_source_id"],
        metadata=raw_json(row["pub_metadata"]) or EMPTY_OBJECT,
        channel=row["pub_channel"],
        source_id=row["pub_source_id"],
        customer=Raw(msgspec.json.encode(simple_customer(customer))),
        vouchers_id=[row["id"]],
        voucher=_voucher(row),
    )


async def list_(db: Database, *, project_id: str, params: Mapping[str, Any]) -> PublicationList:
    limit = pagination.parse_limit(params.get("limit"))
    page = pagination.parse_page(params.get("page"), high=MAX_PAGE)
    keys = [k for key in repository.PUBLICATION_ORDER_COLUMNS for k in (key, f"-{key}")]
    ordering = _one_of(params, "order", keys) or "-created_at"
    conditions = simple_filters(params.get("filters"), FILTER_FIELDS, values_of=_stored_values)
    result = _one_of(params, "result", RESULTS)
    if result is not None:
        conditions.append(("result", "is", [result]))
    voucher_type = _one_of(params, "voucher_type", list(VOUCHER_TYPES))
    if voucher_type is not None:
        conditions.append(("voucher_type", "is", [VOUCHER_TYPES[voucher_type]]))
    referral = _one_of(params, "is_referral_code", ("true", "false"))
    for name, field in (("campaign", "campaign_name"), ("voucher", "voucher_code")):
        value = text_param(params, name)
        if value is not None:
            conditions.append((field, "is", [value]))
    source_id = text_param(params, "source_id")
    if source_id is not None:
        conditions.append(("source_id", "is", [source_id]))
    customer = text_param(params, "customer")
    if customer is not None:
        found = await customers.resolve(db, project_id=project_id, ref=customer)
        conditions.append(("customer_id", "is", [NOTHING if found is None else found["id"]]))
    if not _succeeded_pass(conditions):
        return PublicationList(publications=[], total=0)
    conditions = [c for c in conditions if c[0] != "result"]
    referral_only = referral == "true"  # the spec: "works only for the true option"
    rows = await repository.list_publications(
        db,
        project_id=project_id,
        conditions=conditions,
        referral_only=referral_only,
        order_by=ordering.lstrip("-"),
        descending=ordering.startswith("-"),
        limit=limit,
        offset=pagination.offset(page, limit),
    )
    total = await repository.count_publications(
        db, project_id=project_id, conditions=conditions, referral_only=referral_only
    )
    return PublicationList(publications=[_item(r) for r in rows], total=total)
