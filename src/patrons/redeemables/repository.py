"""SQL for campaigns, vouchers, publications and redeemable holders.

Every function takes `project_id` first; no query runs without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrons.db import dialect
from patrons.db.database import DB, Conn, Row, kind_of

CAMPAIGN_COLUMNS = (
    "id, name, description, campaign_type, type, voucher, auto_join, join_once,"
    " vouchers_count, start_date, expiration_date, active, metadata, referral_program,"
    " vouchers_generation_status, async_action_id, created_at, updated_at"
)
VOUCHER_FIELDS = (
    "id",
    "code",
    "campaign_id",
    "category",
    "type",
    "discount",
    "gift_amount",
    "gift_balance",
    "gift_effect",
    "loyalty_points",
    "loyalty_balance",
    "redemption_quantity",
    "redeemed_quantity",
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "active",
    "additional_info",
    "metadata",
    "is_referral_code",
    "holder_id",
    "referrer_id",
    "publish_count",
    "created_at",
    "updated_at",
)
# A voucher with its campaign's name and type: everything the wire voucher needs.
VOUCHER_SELECT = (
    "SELECT " + ", ".join(f"v.{f}" for f in VOUCHER_FIELDS) + ","
    " c.name AS campaign_name, c.campaign_type AS campaign_type"
    " FROM voucher v LEFT JOIN campaign c"
    " ON c.project_id = v.project_id AND c.id = v.campaign_id"
)
HOLDER_COLUMNS = (
    "id, customer_id, redeemable_id, redeemable_object, holder_role, campaign_id,"
    " campaign_type, voucher_type, created_at"
)


def _insert_sql(table: str, names: Sequence[str], returning: str = "") -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 2))
    sql = f"INSERT INTO {table} (project_id, {', '.join(names)}) VALUES ({marks})"
    return f"{sql} RETURNING {returning}" if returning else sql


def _set_sql(changes: dict[str, Any], first: int) -> str:
    return ", ".join(f"{column} = ${first + i}" for i, column in enumerate(changes))


# --- campaigns --------------------------------------------------------------------------------


async def insert_campaign(conn: Conn, *, project_id: str, values: dict[str, Any]) -> Row | None:
    """The new campaign, or None when the project already has one of that name."""
    sql = _insert_sql("campaign", list(values))
    return await conn.fetchrow(
        f"{sql} ON CONFLICT (project_id, name) DO NOTHING RETURNING {CAMPAIGN_COLUMNS}",
        project_id,
        *values.values(),
    )


async def get_campaign(db: DB, *, project_id: str, ref: str) -> Row | None:
    """By id, or failing that by name (Voucherify accepts both in paths and bodies)."""
    return await db.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE project_id = $1"
        " AND (id = $2 OR name = $2) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1",
        project_id,
        ref,
    )


async def list_campaigns(
    db: DB,
    *,
    project_id: str,
    campaign_type: str | None,
    descending: bool,
    limit: int,
    offset: int,
    order_by: str = "created_at",
) -> list[Row]:
    """A page of campaigns by `created_at` or `updated_at` (never updated: its creation)."""
    key = {"created_at": "created_at", "updated_at": "COALESCE(updated_at, created_at)"}[order_by]
    where, args = "project_id = $1", [project_id]
    if campaign_type is not None:
        where += " AND campaign_type = $2"
        args.append(campaign_type)
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE {where}"
        f" ORDER BY {key} {direction}, id {direction} LIMIT {int(limit)} OFFSET {int(offset)}",
        *args,
    )


async def count_campaigns(db: DB, *, project_id: str, campaign_type: str | None) -> int:
    if campaign_type is None:
        return await db.fetchval("SELECT COUNT(*) FROM campaign WHERE project_id = $1", project_id)
    return await db.fetchval(
        "SELECT COUNT(*) FROM campaign WHERE project_id = $1 AND campaign_type = $2",
        project_id,
        campaign_type,
    )


async def set_generation(
    conn: Conn, *, project_id: str, campaign_id: str, status: str, action_id: str | None, now: int
) -> None:
    await conn.execute(
        "UPDATE campaign SET vouchers_generation_status = $3,"
        " async_action_id = COALESCE($4, async_action_id), updated_at = $5"
        " WHERE project_id = $1 AND id = $2",
        project_id,
        campaign_id,
        status,
        action_id,
        now,
    )


async def count_vouchers(db: DB, *, project_id: str, campaign_id: str) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM voucher WHERE project_id = $1 AND campaign_id = $2",
        project_id,
        campaign_id,
    )


# --- vouchers ---------------------------------------------------------------------------------


async def insert_voucher(conn: Conn, *, project_id: str, values: dict[str, Any]) -> bool:
    """False when the project already has a voucher with that code."""
    sql = _insert_sql("voucher", list(values))
    inserted = await conn.fetchval(
        f"{sql} ON CONFLICT (project_id, code) DO NOTHING RETURNING id",
        project_id,
        *values.values(),
    )
    return inserted is not None


async def get_voucher(db: DB, *, project_id: str, ref: str) -> Row | None:
    """By code, or failing that by `v_` id."""
    row = await db.fetchrow(
        f"{VOUCHER_SELECT} WHERE v.project_id = $1 AND v.code = $2", project_id, ref
    )
    if row is None and ref.startswith("v_"):
        row = await db.fetchrow(
            f"{VOUCHER_SELECT} WHERE v.project_id = $1 AND v.id = $2", project_id, ref
        )
    return row


async def get_voucher_by_id(
    db: DB, *, project_id: str, voucher_id: str, lock: bool = False
) -> Row | None:
    """`lock`: also take the voucher's row lock for the transaction (PostgreSQL; SQLite
    writers are serial anyway), so the row read is the one this transaction will change."""
    suffix = dialect.for_update_sql(kind_of(db), of="v") if lock else ""
    return await db.fetchrow(
        f"{VOUCHER_SELECT} WHERE v.project_id = $1 AND v.id = $2{suffix}", project_id, voucher_id
    )


async def update_voucher(
    conn: Conn, *, project_id: str, voucher_id: str, changes: dict[str, Any]
) -> None:
    await conn.execute(
        f"UPDATE voucher SET {_set_sql(changes, 3)} WHERE project_id = $1 AND id = $2",
        project_id,
        voucher_id,
        *changes.values(),
    )


async def delete_voucher(conn: Conn, *, project_id: str, voucher_id: str) -> None:
    for table, column in (
        ("redeemable_holder", "redeemable_id"),
        ("publication", "voucher_id"),
        ("voucher", "id"),
    ):
        await conn.execute(
            f"DELETE FROM {table} WHERE project_id = $1 AND {column} = $2", project_id, voucher_id
        )


async def next_free_voucher(conn: Conn, *, project_id: str, campaign_id: str) -> str | None:
    """The oldest unpublished active voucher of the campaign, locked for this transaction."""
    lock = dialect.skip_locked_sql(kind_of(conn))
    return await conn.fetchval(
        "SELECT id FROM voucher WHERE project_id = $1 AND campaign_id = $2"
        " AND holder_id IS NULL AND publish_count = 0 AND active"
        f" ORDER BY created_at, id LIMIT 1{lock}",
        project_id,
        campaign_id,
    )


async def campaign_voucher_of(
    db: DB, *, project_id: str, campaign_id: str, customer_id: str
) -> str | None:
    """A voucher of the campaign already published to the customer (join_once, loyalty)."""
    return await db.fetchval(
        "SELECT id FROM voucher WHERE project_id = $1 AND campaign_id = $2 AND holder_id = $3"
        " ORDER BY created_at, id LIMIT 1",
        project_id,
        campaign_id,
        customer_id,
    )


# --- publications -----------------------------------------------------------------------------


async def insert_publication(conn: Conn, *, project_id: str, values: dict[str, Any]) -> None:
    await conn.execute(_insert_sql("publication", list(values)), project_id, *values.values())


async def publication_by_source_id(db: DB, *, project_id: str, source_id: str) -> Row | None:
    return await db.fetchrow(
        "SELECT id, source_id, customer_id, voucher_id, campaign_id, channel, metadata,"
        " created_at FROM publication WHERE project_id = $1 AND source_id = $2"
        " ORDER BY created_at, id LIMIT 1",
        project_id,
        source_id,
    )


# GET /v1/publications: the fields its query parameters and `filters` name → their columns.
PUBLICATION_FILTER_COLUMNS = {
    "customer_id": "p.customer_id",
    "campaign_name": "c.name",
    "source_id": "p.source_id",
    "parent_object_id": "p.campaign_id",
    "related_object_id": "p.voucher_id",
    "voucher_code": "v.code",
    "voucher_type": "v.type",
}
# Its `order` keys → columns (text ones compared by code point on both databases).
PUBLICATION_ORDER_COLUMNS = {
    "id": "p.id",
    "voucher_code": "v.code",
    "tracking_id": "cu.source_id",
    "customer_id": "p.customer_id",
    "created_at": "p.created_at",
    "channel": "p.channel",
}
_PUBLICATION_FROM = (
    " FROM publication p JOIN voucher v ON v.project_id = p.project_id AND v.id = p.voucher_id"
    " LEFT JOIN campaign c ON c.project_id = v.project_id AND c.id = v.campaign_id"
    " LEFT JOIN customer cu ON cu.project_id = p.project_id AND cu.id = p.customer_id"
)
# The publication (pub_*), its customer (cu_*) and its voucher as VOUCHER_SELECT gives it.
_PUBLICATION_SELECT = (
    "SELECT p.id AS pub_id, p.source_id AS pub_source_id, p.customer_id AS pub_customer_id,"
    " p.channel AS pub_channel, p.metadata AS pub_metadata, p.created_at AS pub_created_at,"
    " cu.name AS cu_name, cu.email AS cu_email, cu.source_id AS cu_source_id,"
    " cu.metadata AS cu_metadata, "
    + ", ".join(f"v.{f}" for f in VOUCHER_FIELDS)
    + ", c.name AS campaign_name, c.campaign_type AS campaign_type"
)


def _publication_where(
    conditions: Sequence[tuple[str, str, Sequence[str]]], referral_only: bool
) -> tuple[str, list[Any]]:
    """`conditions`: (field of PUBLICATION_FILTER_COLUMNS, is|is_not|in|not_in, values),
    AND-ed; the parameters start at $2 ($1 is the project)."""
    parts: list[str] = ["p.project_id = $1"]
    args: list[Any] = []
    for field, operator, values in conditions:
        column = PUBLICATION_FILTER_COLUMNS[field]
        marks = []
        for value in values:
            args.append(value)
            marks.append(f"${len(args) + 1}")
        if operator in ("is", "in"):
            parts.append(f"{column} IN ({', '.join(marks)})")
        else:
            parts.append(f"({column} IS NULL OR {column} NOT IN ({', '.join(marks)}))")
    if referral_only:
        parts.append("v.is_referral_code")
    return " AND ".join(parts), args


async def list_publications(
    db: DB,
    *,
    project_id: str,
    conditions: Sequence[tuple[str, str, Sequence[str]]],
    referral_only: bool,
    order_by: str,
    descending: bool,
    limit: int,
    offset: int,
) -> list[Row]:
    where, args = _publication_where(conditions, referral_only)
    column = PUBLICATION_ORDER_COLUMNS[order_by]
    if column != "p.created_at":
        column = dialect.code_point_order(kind_of(db), column)
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"{_PUBLICATION_SELECT}{_PUBLICATION_FROM} WHERE {where}"
        f" ORDER BY {column} {direction}, p.id {direction}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
        *args,
    )


async def count_publications(
    db: DB,
    *,
    project_id: str,
    conditions: Sequence[tuple[str, str, Sequence[str]]],
    referral_only: bool,
) -> int:
    where, args = _publication_where(conditions, referral_only)
    return await db.fetchval(f"SELECT COUNT(*){_PUBLICATION_FROM} WHERE {where}", project_id, *args)


# --- holders ----------------------------------------------------------------------------------


async def insert_holder(conn: Conn, *, project_id: str, values: dict[str, Any]) -> Row | None:
    """The new holder row, or None when the customer already holds the voucher in that role."""
    sql = _insert_sql("redeemable_holder", list(values))
    return await conn.fetchrow(
        f"{sql} ON CONFLICT (project_id, redeemable_id, customer_id, holder_role) DO NOTHING"
        f" RETURNING {HOLDER_COLUMNS}",
        project_id,
        *values.values(),
    )


async def get_holder(db: DB, *, project_id: str, holder_id: str) -> Row | None:
    return await db.fetchrow(
        f"SELECT {HOLDER_COLUMNS} FROM redeemable_holder WHERE project_id = $1 AND id = $2",
        project_id,
        holder_id,
    )


async def find_holder(
    db: DB, *, project_id: str, voucher_id: str, customer_id: str, role: str
) -> Row | None:
    return await db.fetchrow(
        f"SELECT {HOLDER_COLUMNS} FROM redeemable_holder WHERE project_id = $1"
        " AND redeemable_id = $2 AND customer_id = $3 AND holder_role = $4",
        project_id,
        voucher_id,
        customer_id,
        role,
    )


async def delete_holder(conn: Conn, *, project_id: str, holder_id: str) -> None:
    await conn.execute(
        "DELETE FROM redeemable_holder WHERE project_id = $1 AND id = $2", project_id, holder_id
    )


async def holders_of_voucher(
    db: DB, *, project_id: str, voucher_id: str, role: str | None = None
) -> list[Row]:
    extra, args = ("", []) if role is None else (" AND holder_role = $3", [role])
    return await db.fetch(
        f"SELECT {HOLDER_COLUMNS} FROM redeemable_holder WHERE project_id = $1"
        f" AND redeemable_id = $2{extra} ORDER BY id",
        project_id,
        voucher_id,
        *args,
    )


# --- what a customer holds (the customer object's summary/loyalty/referrals) ------------------


async def count_holders(db: DB, *, project_id: str, where: str, args: Sequence[Any]) -> int:
    """Holders matching `where` (its placeholders numbered from $2; $1 is the project)."""
    return await db.fetchval(
        f"SELECT COUNT(*) FROM redeemable_holder WHERE project_id = $1 AND {where}",
        project_id,
        *args,
    )


async def page_of_holders(
    db: DB, *, project_id: str, where: str, args: Sequence[Any], descending: bool, limit: int
) -> list[Row]:
    """Holders matching `where` in id order (= age order), at most `limit`."""
    direction = "DESC" if descending else "ASC"
    return await db.fetch(
        f"SELECT {HOLDER_COLUMNS} FROM redeemable_holder WHERE project_id = $1 AND {where}"
        # Plain `id` order (not code-point): holder ids are `rh_` + lowercase hex, which every
        # collation orders alike, and the (project, customer, id) index then serves the page.
        f" ORDER BY id {direction} LIMIT {int(limit)}",
        project_id,
        *args,
    )


async def owned_totals(db: DB, *, project_id: str, customer_id: str) -> list[Row]:
    """The customer's OWNER/REFERRER holdings summed per (role, voucher type, campaign), with
    the number of referees on its referral codes: a few rows however much it holds."""
    return await db.fetch(
        "SELECT h.holder_role, v.type, v.campaign_id, c.name AS campaign_name,"
        " SUM(COALESCE(v.gift_balance, 0)) AS gift_balance,"
        " SUM(COALESCE(v.loyalty_balance, 0)) AS loyalty_balance,"
        " SUM((SELECT COUNT(*) FROM redeemable_holder r WHERE r.project_id = h.project_id"
        "  AND r.redeemable_id = h.redeemable_id AND r.holder_role = 'REFEREE')) AS referees"
        " FROM redeemable_holder h JOIN voucher v"
        " ON v.project_id = h.project_id AND v.id = h.redeemable_id"
        " LEFT JOIN campaign c ON c.project_id = v.project_id AND c.id = v.campaign_id"
        " WHERE h.project_id = $1 AND h.customer_id = $2 AND h.holder_role <> 'REFEREE'"
        " GROUP BY h.holder_role, v.type, v.campaign_id, c.name",
        project_id,
        customer_id,
    )


async def referred_by(db: DB, *, project_id: str, customer_id: str) -> list[Row]:
    """The customer's REFEREE rows with the referral code's holder (the referrer)."""
    return await db.fetch(
        "SELECT h.id, h.campaign_id, h.created_at, v.holder_id AS referrer_id"
        " FROM redeemable_holder h JOIN voucher v"
        " ON v.project_id = h.project_id AND v.id = h.redeemable_id"
        " WHERE h.project_id = $1 AND h.customer_id = $2 AND h.holder_role = 'REFEREE'"
        " ORDER BY h.id",
        project_id,
        customer_id,
    )
