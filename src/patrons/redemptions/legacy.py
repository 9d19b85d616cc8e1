"""The single-voucher forms: POST /v1/vouchers/{code}/validate and /redemption, answered by
the stackable validation and redemption with one redeemable, reshaped to their own bodies
(VouchersValidate…ResponseBody; the redemption object itself)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Raw

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.db.database import Conn
from patrons.redemptions import service
from patrons.redemptions.schemas import RedeemableRef, StackableRequest, VoucherRequest


def stackable(code: str, body: VoucherRequest) -> StackableRequest:
    return StackableRequest(
        redeemables=[RedeemableRef(id=code, gift=body.gift, reward=body.reward)],
        order=body.order,
        customer=body.customer,
        metadata=body.metadata,
        tracking_id=body.tracking_id,
    )


async def validate(
    conn: Conn, *, project_id: str, code: str, body: VoucherRequest, request_id: str | None
) -> dict[str, Any]:
    result = await service.validate(
        conn, project_id=project_id, body=stackable(code, body), request_id=request_id
    )
    redeemable = msgspec.json.decode(result.redeemables[0])
    answer: dict[str, Any] = {"code": code, "metadata": redeemable.get("metadata") or {}}
    if isinstance(body.tracking_id, str):
        answer["tracking_id"] = body.tracking_id
    if redeemable["status"] != "APPLICABLE":
        error = redeemable["result"]["error"]
        if error["key"] == "not_found":
            raise NotFound("voucher", code)
        return {"valid": False, **answer, "error": error, "reason": error["message"]}
    answer.update(
        valid=True,
        applicable_to=redeemable["applicable_to"],
        inapplicable_to=redeemable["inapplicable_to"],
        **redeemable["result"],
    )
    if "campaign_id" in redeemable:
        answer["campaign"] = redeemable["campaign_name"]
        answer["campaign_id"] = redeemable["campaign_id"]
    if isinstance(result.order, Raw):
        answer["order"] = msgspec.json.decode(result.order)
    return answer


async def redeem(
    conn: Conn, *, project_id: str, code: str, body: VoucherRequest, origin: Origin
) -> Raw:
    result = await service.redeem(
        conn, project_id=project_id, body=stackable(code, body), origin=origin
    )
    return result.redemptions[0]
