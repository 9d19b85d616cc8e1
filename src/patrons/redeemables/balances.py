"""A voucher's uses and balances as redemptions and rollbacks move them (issue 17).

Called by the redemptions package in its transaction; the voucher's holders get their stored
holdings (the balances still to spend) recomputed in the same transaction. Every change of a
gift card's credits or a loyalty card's points goes through here and writes its
voucher_transaction row in the same transaction (GET /v1/vouchers/{code}/transactions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patrons.core import ids, pagination
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidQueryParams, NotFound
from patrons.db.database import Conn, Database, Row
from patrons.redeemables import balance_repository, holdings, repository


async def lock(conn: Conn, *, project_id: str, voucher_id: str) -> Row | None:
    """The voucher (with its campaign's name and type), its row locked for the transaction."""
    return await repository.get_voucher_by_id(
        conn, project_id=project_id, voucher_id=voucher_id, lock=True
    )


async def find(db: Database | Conn, *, project_id: str, ref: str) -> Row | None:
    """A voucher by code or id, or None."""
    return await repository.get_voucher(db, project_id=project_id, ref=ref)


async def _record(
    conn: Conn,
    *,
    project_id: str,
    card: Row,
    kind: str,
    type_: str,
    amount: int,
    redemption_id: str | None = None,
    rollback_id: str | None = None,
    source_id: str | None = None,
    source: str | None = None,
    reason: str | None = None,
) -> None:
    """The voucher_transaction row of one change (`card`: the voucher after it); a change of
    nothing leaves no row."""
    if amount == 0:
        return
    gift = kind == "gift_voucher"
    now = now_ms()
    await balance_repository.insert_transaction(
        conn,
        project_id=project_id,
        row={
            "id": ids.transaction_id(now),
            "voucher_id": card["id"],
            "campaign_id": card["campaign_id"],
            "type": type_,
            "source_id": source_id,
            "source": source,
            "reason": reason,
            "balance_type": kind,
            "amount": amount,
            "total": int((card["gift_amount"] if gift else card["loyalty_points"]) or 0),
            "balance": int((card["gift_balance"] if gift else card["loyalty_balance"]) or 0),
            "redemption_id": redemption_id,
            "rollback_id": rollback_id,
            "created_at": now,
        },
    )


async def _record_both(
    conn: Conn,
    *,
    project_id: str,
    card: Row,
    types: tuple[str, str],
    credits: int,
    points: int,
    redemption_id: str | None = None,
    rollback_id: str | None = None,
) -> None:
    """The transactions of one change of credits and/or points (`types`: credits', points')."""
    for kind, type_, moved in (
        ("gift_voucher", types[0], credits),
        ("loyalty_card", types[1], points),
    ):
        await _record(
            conn,
            project_id=project_id,
            card=card,
            kind=kind,
            type_=type_,
            amount=moved,
            redemption_id=redemption_id,
            rollback_id=rollback_id,
        )


async def take(
    conn: Conn,
    *,
    project_id: str,
    voucher_id: str,
    credits: int = 0,
    points: int = 0,
    redemption_id: str | None = None,
) -> bool:
    """Redeem: one use, gift credits and loyalty points taken; False when no longer possible."""
    card = await balance_repository.take(
        conn, project_id=project_id, voucher_id=voucher_id, credits=credits, points=points
    )
    if card is None:
        return False
    await _record_both(
        conn,
        project_id=project_id,
        card=card,
        types=("CREDITS_REDEMPTION", "POINTS_REDEMPTION"),
        credits=-credits,
        points=-points,
        redemption_id=redemption_id,
    )
    await holdings.refresh_voucher_holders(conn, project_id=project_id, voucher_id=voucher_id)
    return True


async def give_back(
    conn: Conn,
    *,
    project_id: str,
    voucher_id: str,
    credits: int = 0,
    points: int = 0,
    redemption_id: str | None = None,
    rollback_id: str | None = None,
) -> bool:
    """Roll back: the use, credits and points return; False when the voucher is gone."""
    card = await balance_repository.give_back(
        conn, project_id=project_id, voucher_id=voucher_id, credits=credits, points=points
    )
    if card is None:
        return False
    await _record_both(
        conn,
        project_id=project_id,
        card=card,
        types=("CREDITS_REFUND", "POINTS_REFUND"),
        credits=credits,
        points=points,
        redemption_id=redemption_id,
        rollback_id=rollback_id,
    )
    await holdings.refresh_voucher_holders(conn, project_id=project_id, voucher_id=voucher_id)
    return True


async def adjust(
    conn: Conn,
    *,
    project_id: str,
    voucher_id: str,
    loyalty: bool,
    delta: int,
    source_id: str | None,
    reason: str | None,
) -> bool:
    """A balance call: `delta` points (loyalty card) or credits (gift card) added, or taken off
    when negative; False when the balance would go below zero. The holders' holdings are the
    caller's (it refreshes them with the event it records)."""
    if loyalty:
        card = await balance_repository.add_points(
            conn, project_id=project_id, voucher_id=voucher_id, points=delta
        )
        kind, prefix = "loyalty_card", "POINTS"
    else:
        card = await balance_repository.add_gift(
            conn, project_id=project_id, voucher_id=voucher_id, amount=delta
        )
        kind, prefix = "gift_voucher", "CREDITS"
    if card is None:
        return False
    await _record(
        conn,
        project_id=project_id,
        card=card,
        kind=kind,
        type_=f"{prefix}_{'ADDITION' if delta >= 0 else 'REMOVAL'}",
        amount=delta,
        source_id=source_id,
        source="API",
        reason=reason,
    )
    return True


async def record_update(
    conn: Conn, *, project_id: str, voucher_id: str, credits: int, points: int
) -> None:
    """PUT /v1/vouchers/{code} moved a card's balance (a new gift amount or points total):
    the transactions of that change, after the update, like a balance call's."""
    card = await repository.get_voucher_by_id(conn, project_id=project_id, voucher_id=voucher_id)
    if card is None:
        return
    for kind, prefix, moved in (
        ("gift_voucher", "CREDITS", credits),
        ("loyalty_card", "POINTS", points),
    ):
        await _record(
            conn,
            project_id=project_id,
            card=card,
            kind=kind,
            type_=f"{prefix}_{'ADDITION' if moved >= 0 else 'REMOVAL'}",
            amount=moved,
            source="API",
        )


def transaction_wire(row: Row) -> dict[str, Any]:
    """VoucherTransaction."""
    balance: dict[str, Any] = {
        "type": row["balance_type"],
        "total": int(row["total"]),
        "object": "balance",
        "points" if row["balance_type"] == "loyalty_card" else "amount": int(row["amount"]),
        "balance": int(row["balance"]),
        "related_object": {"id": row["voucher_id"], "type": "voucher"},
    }
    details: dict[str, Any] = {"balance": balance}
    if row["redemption_id"] is not None:
        details["redemption"] = {"id": row["redemption_id"]}
    if row["rollback_id"] is not None:
        details["rollback"] = {"id": row["rollback_id"]}
    return {
        "id": row["id"],
        "source_id": row["source_id"],
        "voucher_id": row["voucher_id"],
        "campaign_id": row["campaign_id"],
        "source": row["source"],
        "reason": row["reason"],
        "type": row["type"],
        "details": details,
        "related_transaction_id": None,
        "created_at": format_ms(int(row["created_at"])),
    }


async def list_transactions(
    db: Database, *, project_id: str, code: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """GET /v1/vouchers/{code}/transactions: limit, order (±id, newest first by default),
    starting_after_id."""
    limit = pagination.parse_limit(params.get("limit"))
    order = params.get("order")
    if order in (None, ""):
        order = "-id"
    if order not in ("id", "-id"):
        raise InvalidQueryParams("Property .order must be one of: id, -id")
    after = params.get("starting_after_id")
    if after == "":
        after = None
    if after is not None and not isinstance(after, str):
        raise InvalidQueryParams("Property .starting_after_id must be a string")
    voucher = await repository.get_voucher(db, project_id=project_id, ref=code)
    if voucher is None:
        raise NotFound("voucher", code)
    rows = await balance_repository.list_transactions(
        db,
        project_id=project_id,
        voucher_id=voucher["id"],
        descending=order == "-id",
        after_id=after,
        limit=pagination.fetch_size(limit),
    )
    page, has_more = pagination.split(rows, limit)
    body: dict[str, Any] = {
        "object": "list",
        "data_ref": "data",
        "data": [transaction_wire(r) for r in page],
        "has_more": has_more,
    }
    if has_more:
        body["more_starting_after"] = page[-1]["id"]
    return body


async def clear_person(conn: Conn, *, project_id: str, values: tuple[str, ...]) -> int:
    """Permanent deletion: transaction texts (source_id, reason) naming the person cleared."""
    if not values:
        return 0
    return await balance_repository.clear_transaction_texts(
        conn, project_id=project_id, values=values
    )
