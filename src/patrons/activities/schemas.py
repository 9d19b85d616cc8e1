"""Wire structs for customer activity (CustomerActivity and its two list envelopes)."""

from __future__ import annotations

from msgspec import UNSET, Raw, Struct, UnsetType

# The 74 event types the Python SDK accepts on CustomerActivity.type (WIRE-FORMAT §3.4).
_CHANNELS = (
    "sms",
    "email",
    "activecampaign",
    "braze",
    "mailchimp",
    "intercom",
    "shopify",
    "klaviyo",
    "batch",
)
EVENT_TYPES = frozenset(
    [
        "customer.confirmed",
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "customer.referred",
        "customer.custom_event",
        "customer.segment.entered",
        "customer.segment.left",
        *(f"customer.{c}.{s}" for c in _CHANNELS for s in ("sent", "recovered", "failed")),
        "customer.rewarded",
        "customer.rewarded.loyalty_points",
        "customer.voucher.gift.balance_added",
        *(
            f"customer.voucher.loyalty_card.pending_points.{s}"
            for s in ("activated", "added", "canceled", "updated")
        ),
        "customer.voucher.loyalty_card.points_activated",
        "customer.voucher.loyalty_card.points_added",
        "customer.voucher.loyalty_card.points_transferred",
        "customer.voucher.loyalty_card.points_expired",
        "customer.voucher.deleted",
        "customer.publication.succeeded",
        "customer.publication.failed",
        "customer.validation.succeeded",
        "customer.validation.failed",
        "customer.redemption.failed",
        "customer.redemption.succeeded",
        "customer.redemption.rollback.failed",
        "customer.redemption.rollback.succeeded",
        *(
            f"customer.order.{s}"
            for s in ("canceled", "created", "fulfilled", "paid", "processing", "updated")
        ),
        *(
            f"customer.reward_redemptions.{s}"
            for s in ("created", "pending", "completed", "rolledback")
        ),
        "customer.loyalty.updated",
        *(
            f"customer.loyalty.tier.{s}"
            for s in ("upgraded", "downgraded", "prolonged", "expiration.changed", "joined", "left")
        ),
        "customer.holder.assignment.created",
        "customer.holder.assignment.deleted",
    ]
)
# The `type` query filter accepts these (ParameterCustomerEvent): the list above minus seven.
FILTER_TYPES = EVENT_TYPES - {
    "customer.voucher.loyalty_card.pending_points.activated",
    "customer.voucher.loyalty_card.pending_points.added",
    "customer.voucher.loyalty_card.pending_points.canceled",
    "customer.voucher.loyalty_card.pending_points.updated",
    "customer.voucher.loyalty_card.points_activated",
    "customer.holder.assignment.created",
    "customer.holder.assignment.deleted",
}
CAMPAIGN_TYPES = frozenset(
    ["PROMOTION", "GIFT_VOUCHERS", "REFERRAL_PROGRAM", "DISCOUNT_COUPONS", "LOYALTY_PROGRAM"]
)


class CustomerActivity(Struct):
    id: str
    type: str
    data: Raw
    created_at: str
    group_id: str | None


class ActivityList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[CustomerActivity]
    has_more: bool
    more_starting_after: str | UnsetType = UNSET


class ActivitiesList(Struct, kw_only=True):
    """The deprecated /activities envelope: `total`, no `has_more`."""

    object: str = "list"
    data_ref: str = "data"
    data: list[CustomerActivity]
    total: int
