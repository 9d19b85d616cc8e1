"""The customer object's `summary`, `loyalty` and `referrals`, recomputed from what it holds.

Called in the transaction of every change to a holding (publication, loyalty membership,
referral holders, a voucher's balance, a deleted voucher, a permanent deletion), so reading a
customer stays one primary-key lookup. Computed here, stored through customers' service: the
columns belong to the `customer` table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from patrons.core.clock import format_ms
from patrons.customers import service as customers
from patrons.db.database import Conn
from patrons.redeemables import repository


async def refresh(conn: Conn, *, project_id: str, customer_ids: Iterable[str]) -> None:
    for customer_id in sorted(set(customer_ids)):
        summary, loyalty, referrals = await _compute(conn, project_id, customer_id)
        await customers.set_holdings(  # the columns are the customer's: stored by customers
            conn,
            project_id=project_id,
            customer_id=customer_id,
            summary=summary,
            loyalty=loyalty,
            referrals=referrals,
        )


async def refresh_voucher_holders(conn: Conn, *, project_id: str, voucher_id: str) -> None:
    holders = await repository.holders_of_voucher(
        conn, project_id=project_id, voucher_id=voucher_id
    )
    await refresh(conn, project_id=project_id, customer_ids=[h["customer_id"] for h in holders])


def _encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _compute(
    conn: Conn, project_id: str, customer_id: str
) -> tuple[dict[str, Any], str | None, str | None]:
    owned = await repository.owned_totals(conn, project_id=project_id, customer_id=customer_id)
    referred = await repository.referred_by(conn, project_id=project_id, customer_id=customer_id)
    if not owned and not referred:
        return _to_go(0, 0), None, None  # NULL columns render the empty objects
    points = gift_to_go = referred_customers = 0
    campaigns: dict[str, dict[str, Any]] = {}
    for row in owned:
        key = row["campaign_name"] or row["campaign_id"]
        if row["type"] == "LOYALTY_CARD":
            balance = int(row["loyalty_balance"] or 0)
            points += balance
            if key is not None:
                entry = campaigns.setdefault(key, {"points": 0, "referred_customers": 0})
                entry["points"] += balance
        elif row["type"] == "GIFT_VOUCHER" and row["holder_role"] == "OWNER":
            gift_to_go += int(row["gift_balance"] or 0)
        if row["holder_role"] == "REFERRER":
            count = int(row["referees"] or 0)
            referred_customers += count
            if key is not None:
                entry = campaigns.setdefault(key, {"points": 0, "referred_customers": 0})
                entry["referred_customers"] += count
    summary = _to_go(gift_to_go, points)
    loyalty = {"points": points, "referred_customers": referred_customers, "campaigns": campaigns}
    referrals = {
        "total": len(referred),
        "campaigns": [
            {
                "campaign_id": r["campaign_id"],
                "referrer_id": r["referrer_id"],
                "related_object_id": r["id"],
                "related_object_type": "redeemable_holder",
                "date": format_ms(r["created_at"]),
            }
            for r in referred
        ],
    }
    return summary, _encode(loyalty), _encode(referrals)


def _to_go(gift: int, points: int) -> dict[str, Any]:
    """holdings' part of the summary: what is still to spend (redemptions and orders keep the
    rest through customers.update_summary)."""
    return {
        "redemptions": {"gift": {"amount_to_go": gift}, "loyalty_card": {"points_to_go": points}}
    }
