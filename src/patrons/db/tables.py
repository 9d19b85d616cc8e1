"""Table definitions (SQLAlchemy Core): the schema's single source, migrated by Alembic.

Conventions: every table carries `project_id` in its primary key and indexes (tenancy, and a
distribution column should tenants ever be sharded); timestamps are BIGINT epoch milliseconds;
JSON is JSONB on PostgreSQL and TEXT on SQLite (`JsonText`, the event snapshots: JSON, stored as
written, on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.Text().with_variant(JSONB(), "postgresql")
# Kept as text and never queried inside: not parsed into jsonb on every insert (migration 0017).
JsonText = sa.Text().with_variant(JSON(), "postgresql")
Millis = sa.BigInteger

project = sa.Table(
    "project",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Millis, nullable=False),
)

# Live customers per project, kept by every writer so an unfiltered list's `total` needs no
# COUNT(*). Split over a few slots, each writer adding to a random one: a single counter row
# would serialise every concurrent create of a project on PostgreSQL (its row lock is held to
# commit). The count is the sum of the slots.
COUNTER_SLOTS = 16
customer_counter = sa.Table(
    "customer_counter",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "slot"),
)

# Live customers per UTC day of `created_at` (stamp 0) and of `updated_at` (stamp 1; never-
# updated customers are in no day), in 16 slots per day like customer_counter. The exact
# `total` of a lone date bound on PostgreSQL sums the whole days past the bound and counts
# only the bound's own day in the index (customers.repository.count_by_days; issue #16).
# Derived: PostgreSQL's statement-level triggers on `customer` keep it (migration 0015), so
# every writer — single, bulk, CSV, deletion, erasure, project tools — keeps it without
# knowing, in its own transaction. SQLite has no such triggers and leaves it empty
# (dialect.day_counts). Project tools skip derived tables: the triggers rebuild them.
customer_day_count = sa.Table(
    "customer_day_count",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("stamp", sa.SmallInteger, nullable=False),
    sa.Column("day", sa.BigInteger, nullable=False),  # epoch ms // 86,400,000
    sa.Column("slot", sa.SmallInteger, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "stamp", "day", "slot"),
    info={"derived": True},
)

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("project.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # sha256 of the token: tokens are long random secrets, so a fast hash is enough.
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("rotated_at", Millis, nullable=True),
    sa.Index(None, "project_id"),
)


def _customer_columns() -> list[sa.Column]:
    return [
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("source_id", sa.Text, nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("birthdate", sa.String(10), nullable=True),  # YYYY-MM-DD
        sa.Column("birthday", sa.String(10), nullable=True),  # deprecated twin, kept apart
        # False → the wire `address` is null; True → an object (its fields may still be null).
        sa.Column("address_set", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("address_city", sa.Text, nullable=True),
        sa.Column("address_state", sa.Text, nullable=True),
        sa.Column("address_line_1", sa.Text, nullable=True),
        sa.Column("address_line_2", sa.Text, nullable=True),
        sa.Column("address_country", sa.Text, nullable=True),
        sa.Column("address_postal_code", sa.Text, nullable=True),
        sa.Column("metadata", Json, nullable=False, server_default="{}"),
        sa.Column("created_at", Millis, nullable=False),
        sa.Column("updated_at", Millis, nullable=True),
        # Which address keys were ever sent (bit i = ADDRESS_FIELDS[i]: city, state, line_1,
        # line_2, country, postal_code): the wire `address` carries exactly those. Rows from
        # before the column show all six (63), as they always did.
        sa.Column("address_keys", sa.Integer, nullable=False, server_default="63"),
    ]


# What the customer holds, computed by redeemables/holdings.py and stored through
# customers.service.set_holdings in the transaction that changes a holding, so reading a
# customer needs no aggregate: the wire `summary`, `loyalty` and `referrals` objects, NULL
# while the customer holds nothing. Not part of CUSTOMER_COLUMNS: no customer write (single,
# bulk or CSV) ever touches them.
HOLDINGS_COLUMNS: tuple[str, ...] = ("summary", "loyalty", "referrals")

customer = sa.Table(
    "customer",
    metadata,
    *_customer_columns(),
    *(sa.Column(name, Json, nullable=True) for name in HOLDINGS_COLUMNS),
    # The wire `system_metadata` (NULL: `{}`): `consents` written by consents/ through
    # customers.service.set_system_metadata (migration 0014). No customer write touches it.
    sa.Column("system_metadata", Json, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "source_id"),
    sa.Index(None, "project_id", "created_at", "id"),
    sa.Index(None, "project_id", "email"),
    sa.Index(None, "project_id", "address_city"),
    sa.Index(None, "project_id", "name"),
)

# `updated_at` ranges and `order=±updated_at`. The lists sort a never-updated customer (NULL)
# as the smallest value: `ASC NULLS FIRST` / `DESC NULLS LAST` (customers/listing.py). SQLite
# sorts NULLs that way by default, so its plain index serves both directions; PostgreSQL's
# default (NULLS LAST ascending) matches neither, so its index is declared NULLS FIRST, and
# carries `created_at` for the filter-first page of an `updated_at` range sorted by creation
# (index-only, no heap visit per match; migration 0015, issue #16). The NULLS FIRST is an
# expression SQLite cannot parse: its index (created by 0001, untouched by 0015) is the plain
# one, and tests/db/test_migrations.py compares this index on PostgreSQL only (Alembic skips
# expression indexes on SQLite). Never `create_all` this metadata on SQLite.
sa.Index(
    "ix_customer_project_id_updated_at_id",
    customer.c.project_id,
    customer.c.updated_at.nulls_first(),
    customer.c.id,
    postgresql_include=["created_at"],
)

# `GET /v1/customers?email=` matches e-mails case-insensitively (as Voucherify's filters do).
sa.Index(
    "ix_customer_project_id_lower_email", customer.c.project_id, sa.func.lower(customer.c.email)
)

# The customer's own columns (everything but the tenant key), in table order: the one list
# that SELECTs, event snapshots and bulk writes are built from.
CUSTOMER_COLUMNS: tuple[str, ...] = tuple(
    c.name
    for c in customer.columns
    if c.name not in ("project_id", *HOLDINGS_COLUMNS, "system_metadata")
)

# Soft-deleted customers move here: the live table stays free of tombstones, so its unique
# source_id constraint lets a deleted customer's source_id be used again.
customer_deleted = sa.Table(
    "customer_deleted",
    metadata,
    *_customer_columns(),
    sa.Column("deleted_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "source_id"),
)

# Async actions: the row *is* the queue entry. Workers claim ENQUEUED (or lease-expired
# IN_PROGRESS) rows, process the payload in chunks and checkpoint `rows_done`/`bytes_done`
# in the same transaction as each chunk's writes.
async_action = sa.Table(
    "async_action",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # ENQUEUED|IN_PROGRESS|DONE|FAILED
    sa.Column("operation_status", sa.String(16), nullable=True),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("payload_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("bytes_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rows_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("done_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed_count", sa.BigInteger, nullable=False, server_default="0"),
    # Of done_count, how many rows created a customer (the rest updated one).
    sa.Column("created_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", Millis, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", Json, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.Column("started_at", Millis, nullable=True),
    sa.Column("finished_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "created_at", "id"),
    sa.Index(None, "status", "created_at"),
)

# A job's input, split into fixed-size pieces so neither the API nor a worker ever holds a whole
# upload in memory.
async_action_payload = sa.Table(
    "async_action_payload",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("action_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "action_id", "seq"),
)

# One row per input row that failed, reported in the action's result.
async_action_failure = sa.Table(
    "async_action_failure",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("action_id", sa.String(64), nullable=False),
    sa.Column("row_no", sa.BigInteger, nullable=False),
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "action_id", "row_no"),
)

# The customer activity log. `snapshot` is the customer's row (column → value) at the time of
# the event, rendered into the wire Customer on read; `extra` holds type-specific payload
# (e.g. the segment of segment.entered); `event_source` is the wire EventSource.
customer_event = sa.Table(
    "customer_event",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("category", sa.String(16), nullable=False),  # ACTION | EFFECT
    sa.Column("campaign_id", sa.String(64), nullable=True),
    sa.Column("campaign_type", sa.String(32), nullable=True),
    sa.Column("group_id", sa.String(64), nullable=True),
    sa.Column("snapshot", JsonText, nullable=False),
    sa.Column("extra", Json, nullable=True),
    sa.Column("event_source", Json, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "customer_id", "created_at", "id"),
)

segment = sa.Table(
    "segment",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # static | auto-update | passive
    sa.Column("filter", Json, nullable=True),  # the rule; NULL for static segments
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "created_at", "id"),
)

# Members of static segments (the list given at creation) and of auto-update segments (kept
# current by every write; inserting/deleting a row here is what emits entered/left exactly
# once). Passive segments have no rows: their members are whoever matches the rule.
segment_member = sa.Table(
    "segment_member",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("segment_id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    # Customer first: every write looks up "this customer's memberships" (SQLite's planner
    # would otherwise pick a segment-first key and scan the project's members).
    sa.PrimaryKeyConstraint("project_id", "customer_id", "segment_id"),
    sa.Index(None, "project_id", "segment_id"),
)


# --- what customers hold (the redeemables package) -----------------------------------------

campaign = sa.Table(
    "campaign",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    # DISCOUNT_COUPONS | GIFT_VOUCHERS | LOYALTY_PROGRAM | REFERRAL_PROGRAM
    sa.Column("campaign_type", sa.String(32), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # AUTO_UPDATE | STATIC
    # The voucher template as the wire `voucher` object (type, code_config, discount, gift,
    # loyalty_card, redemption, is_referral_code).
    sa.Column("voucher", Json, nullable=False),
    sa.Column("auto_join", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("join_once", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("vouchers_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("start_date", Millis, nullable=True),
    sa.Column("expiration_date", Millis, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("metadata", Json, nullable=False, server_default="{}"),
    sa.Column("referral_program", Json, nullable=True),
    # DONE | IN_PROGRESS | FAILED: the vouchers_count generation job (`async_action_id`).
    sa.Column("vouchers_generation_status", sa.String(16), nullable=False),
    sa.Column("async_action_id", sa.String(64), nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "name"),
    sa.Index(None, "project_id", "created_at", "id"),
)

voucher = sa.Table(
    "voucher",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.String(64), nullable=True),  # NULL: a standalone voucher
    sa.Column("category", sa.Text, nullable=True),
    sa.Column("type", sa.String(16), nullable=False),  # DISCOUNT_VOUCHER|GIFT_VOUCHER|LOYALTY_CARD
    sa.Column("discount", Json, nullable=True),
    sa.Column("gift_amount", sa.BigInteger, nullable=True),
    sa.Column("gift_balance", sa.BigInteger, nullable=True),
    sa.Column("gift_effect", sa.String(32), nullable=True),
    sa.Column("loyalty_points", sa.BigInteger, nullable=True),
    sa.Column("loyalty_balance", sa.BigInteger, nullable=True),
    sa.Column("redemption_quantity", sa.BigInteger, nullable=True),  # NULL: unlimited
    sa.Column("redeemed_quantity", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("start_date", Millis, nullable=True),
    sa.Column("expiration_date", Millis, nullable=True),
    sa.Column("validity_timeframe", Json, nullable=True),
    sa.Column("validity_day_of_week", Json, nullable=True),
    sa.Column("validity_hours", Json, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("additional_info", sa.Text, nullable=True),
    sa.Column("metadata", Json, nullable=False, server_default="{}"),
    sa.Column("is_referral_code", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("holder_id", sa.String(64), nullable=True),  # the customer it is published to
    sa.Column("referrer_id", sa.String(64), nullable=True),
    sa.Column("publish_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "code"),
    # "the next free voucher of a campaign" and "the campaign's vouchers in order"
    sa.Index(None, "project_id", "campaign_id", "holder_id", "created_at", "id"),
    sa.Index(None, "project_id", "holder_id"),
)

# A voucher tied to a customer (WIRE-FORMAT §3.5): OWNER by publication or loyalty membership,
# REFERRER for a published referral code, REFEREE when a referrer adds the customer. The
# campaign and voucher types are copied in so the redeemables list filters without joins.
redeemable_holder = sa.Table(
    "redeemable_holder",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),  # rh_ + time-ordered hex: id order = age
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("redeemable_id", sa.String(64), nullable=False),
    sa.Column("redeemable_object", sa.String(16), nullable=False, server_default="voucher"),
    sa.Column("holder_role", sa.String(16), nullable=False),  # OWNER | REFERRER | REFEREE
    sa.Column("campaign_id", sa.String(64), nullable=True),
    sa.Column("campaign_type", sa.String(32), nullable=True),
    sa.Column("voucher_type", sa.String(16), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "redeemable_id", "customer_id", "holder_role"),
    sa.Index(None, "project_id", "customer_id", "id"),
)

publication = sa.Table(
    "publication",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    # The caller's publication id: a retry with the same source_id returns this publication.
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("voucher_id", sa.String(64), nullable=False),
    sa.Column("campaign_id", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("metadata", Json, nullable=False, server_default="{}"),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "source_id"),
    sa.Index(None, "project_id", "customer_id"),
    sa.Index(None, "project_id", "voucher_id"),
)

# --- orders (the orders package) --------------------------------------------------------------

# "order" is an SQL keyword: the table is `orders`. Amounts are integers in the smallest
# currency unit. `discount_amount` / `items_discount_amount` are what redemptions applied to the
# order (order-level / item-level); `redemptions` is the wire map of redemption id → entry.
# A permanently deleted customer's orders stay, anonymised (customer_id/referrer_id NULL).
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),  # ord_…
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # CREATED | PAID | CANCELED | FULFILLED
    sa.Column("amount", sa.BigInteger, nullable=True),
    sa.Column("discount_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("items_discount_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("items", Json, nullable=True),
    sa.Column("metadata", Json, nullable=False, server_default="{}"),
    sa.Column("customer_id", sa.String(64), nullable=True),
    sa.Column("referrer_id", sa.String(64), nullable=True),
    sa.Column("redemptions", Json, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.UniqueConstraint("project_id", "source_id"),
    sa.Index(None, "project_id", "created_at", "id"),
    # a customer's summary.orders (and the eraser): the customer's orders by status
    sa.Index(None, "project_id", "customer_id", "status"),
    sa.Index(None, "project_id", "referrer_id"),
)

# --- redemptions (the redemptions package) ----------------------------------------------------

# Redemptions and their rollbacks (`object`), as Voucherify lists them together. A stacked
# redemption is a parent (related_object_type 'redemption') with one child per voucher
# (`parent_id`); a rollback's `parent_id` is the redemption it undid. `credits`/`points` are
# what a gift card / loyalty card gave, so a rollback returns exactly that. `document` keeps
# what the wire object shows that no column holds (the voucher and order as they were).
# Kept on permanent deletion, anonymised (customer_id NULL, customer dropped from document).
redemption = sa.Table(
    "redemption",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),  # r_… | rr_…
    sa.Column("object", sa.String(32), nullable=False),  # redemption | redemption_rollback
    sa.Column("parent_id", sa.String(64), nullable=True),
    sa.Column("related_object_type", sa.String(32), nullable=False),  # voucher | redemption
    sa.Column("related_object_id", sa.String(64), nullable=False),
    sa.Column("voucher_code", sa.Text, nullable=True),
    sa.Column("voucher_type", sa.String(16), nullable=True),
    sa.Column("campaign_id", sa.String(64), nullable=True),
    sa.Column("customer_id", sa.String(64), nullable=True),
    sa.Column("order_id", sa.String(64), nullable=True),
    sa.Column("tracking_id", sa.Text, nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("result", sa.String(16), nullable=False),  # SUCCESS | FAILURE
    sa.Column("status", sa.String(16), nullable=False),  # SUCCEEDED | FAILED | ROLLED_BACK
    sa.Column("failure_code", sa.Text, nullable=True),
    sa.Column("failure_message", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("rollback_id", sa.String(64), nullable=True),  # set once rolled back
    sa.Column("metadata", Json, nullable=False, server_default="{}"),
    sa.Column("document", Json, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "created_at", "id"),
    sa.Index(None, "project_id", "customer_id", "object"),
    sa.Index(None, "project_id", "related_object_id"),
    sa.Index(None, "project_id", "parent_id"),
)

# A gift card's credits and a loyalty card's points as they moved (GET /v1/vouchers/{code}/
# transactions): one row per change, written where the balance changes (redeemables/
# balances.py), in the same transaction. `id` sorts in creation order; `balance` is after the
# change, `amount` the signed change. Kept with the voucher on permanent deletion; a reason or
# source_id that names the person is cleared (redeemables/erasure.py).
voucher_transaction = sa.Table(
    "voucher_transaction",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),  # vtx_…
    sa.Column("voucher_id", sa.String(64), nullable=False),
    sa.Column("campaign_id", sa.String(64), nullable=True),
    sa.Column("type", sa.String(32), nullable=False),  # CREDITS_REDEMPTION, POINTS_ADDITION…
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("source", sa.String(16), nullable=True),  # API on a balance call
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("balance_type", sa.String(16), nullable=False),  # gift_voucher | loyalty_card
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("redemption_id", sa.String(64), nullable=True),
    sa.Column("rollback_id", sa.String(64), nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "voucher_id", "id"),
)

# --- OAuth, rate limits, idempotency (issue 6) ------------------------------------------------

# OAuth 2.0 client-credentials tokens. Only the sha256 of a token is stored; a revoked or
# expired token fails at once on every API process because each Bearer call reads this table
# (no cache). Expired rows are pruned a day later, when the project next gets a token.
oauth_token = sa.Table(
    "oauth_token",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(100), nullable=False),  # the app id that asked for it
    sa.Column("scope", sa.Text, nullable=False),  # space-separated
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("expires_at", Millis, nullable=False),
    sa.Column("revoked_at", Millis, nullable=True),
    sa.Index(None, "project_id", "expires_at"),
)

# Per-project request budgets: one row per (project, limit kind, fixed window); every API
# process adds to the same row, so the budget holds across processes.
rate_limit_window = sa.Table(
    "rate_limit_window",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # api_calls | bulk_api_calls
    sa.Column("window_start", Millis, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "kind", "window_start"),
)

# Stored first responses of requests sent with an `Idempotency-Key` header (kept 24 h). While
# IN_PROGRESS, `expires_at` is the executing process's lease (a crashed process's key is taken
# over after it); once DONE it is the end of the 24 h. The body is text (every /v1 response is
# JSON) so a permanent deletion can search it on both databases.
idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    # sha256 of method + path + query + body
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # IN_PROGRESS | DONE
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_headers", Json, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("expires_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "key"),
    sa.Index(None, "expires_at"),
)


# --- webhooks (migration 0012, issue 18) ---

# Webhook configurations (the management API's `/webhooks`): `events` is the JSON list of event
# types the target receives; an endpoint that fails every attempt of a delivery is switched off
# (`active` false). Deleting one deletes its deliveries.
webhook = sa.Table(
    "webhook",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("target_url", sa.Text, nullable=False),
    sa.Column("events", Json, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "active"),
)

# A project's signing secret (`X-Voucherify-Signature` is its HMAC-SHA256 of the body). Kept in
# clear: the signer needs it, as Voucherify's dashboard shows it.
webhook_secret = sa.Table(
    "webhook_secret",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id"),
)

# The outbox: one row per customer event of a project with an active webhook, written in the
# writer's transaction (activities), removed by the dispatcher once fanned out into deliveries.
# `seq` orders events (per customer) for delivery: a queue's sequence, not a tenant key, so it
# alone is the primary key (AUTOINCREMENT on SQLite: a value is never reused after a delete).
webhook_outbox = sa.Table(
    "webhook_outbox",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Index(None, "project_id", "customer_id", "seq"),
    sqlite_autoincrement=True,
)

# One event to one webhook: its signed body's JSON (fixed at fan-out, so every attempt sends the
# same bytes and event id), its state (PENDING → DELIVERED | FAILED) and the attempt log.
# `lease_*` is a dispatcher's claim while it POSTs: a killed dispatcher's claim expires.
webhook_delivery = sa.Table(
    "webhook_delivery",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("webhook_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # PENDING | DELIVERED | FAILED
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", Millis, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", Millis, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),  # the target's HTTP status
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "status", "next_at"),
    sa.Index(None, "project_id", "webhook_id", "customer_id", "seq"),
    sa.Index(None, "project_id", "customer_id"),
)

# --- exports (migration 0013, issue 18) ---

# An export (POST /v1/exports): the parameters as accepted, the status its job moves
# (SCHEDULED → IN_PROGRESS → DONE; ERROR is read from its FAILED async action), the keyset
# position after the last exported row (`after_key`, committed with each chunk's file pieces),
# and the download token of `result.url`.
export = sa.Table(
    "export",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("exported_object", sa.String(32), nullable=False),  # customer | voucher
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("parameters", Json, nullable=False),
    sa.Column("action_id", sa.String(64), nullable=True),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("after_key", Json, nullable=True),
    sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("byte_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("piece_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "id"),
    sa.Index(None, "project_id", "created_at", "id"),
)

# The export's CSV file in pieces of at most 1 MiB, in `seq` order (a chunk appends its own
# pieces), so any API process streams it from the database in constant memory.
export_piece = sa.Table(
    "export_piece",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("export_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "export_id", "seq"),
)

# A voucher export's default order (created_at, id) walks this index chunk after chunk; without
# it every chunk would sort all of the project's vouchers.
sa.Index(
    "ix_voucher_project_id_created_at_id",
    voucher.c.project_id,
    voucher.c.created_at,
    voucher.c.id,
)

# --- consents and custom events (migration 0014, issue 18) ---

# A customer's consents (PUT /v1/customers/{id}/consents, the legacy call the JS SDK keeps):
# one row per consent id the customer was given a value for; `unsubscribed` is a row too.
# Written by consents/ only; the wire copy (`system_metadata.consents`) sits on the customer
# row, stored through customers.service.set_system_metadata in the same transaction.
customer_consent = sa.Table(
    "customer_consent",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("consent_id", sa.Text, nullable=False),  # core/limits.py CONSENT_ID_MAX
    sa.Column("value", sa.Boolean, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "customer_id", "consent_id"),
    # GET /v1/consents: the distinct consent ids a project has used
    sa.Index(None, "project_id", "consent_id"),
)
