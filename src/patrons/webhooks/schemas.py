"""Wire shapes of the management API's webhooks (management.json)."""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType

# ManagementProjectsWebhookBase.events (spelling as in the spec, "aded" included).
MANAGEMENT_EVENTS = frozenset(
    [
        "business_validation_rule.assignment.created",
        "business_validation_rule.assignment.deleted",
        "business_validation_rule.created",
        "business_validation_rule.deleted",
        "business_validation_rule.updated",
        "campaign.created",
        "campaign.deleted",
        "campaign.disabled",
        "campaign.enabled",
        "campaign.earning_rule.assigned",
        "campaign.earning_rule.deleted",
        "campaign.earning_rule.disabled",
        "campaign.earning_rule.enabled",
        "campaign.earning_rule.updated",
        "campaign.loyalty_tier.created",
        "campaign.loyalty_tier.deleted",
        "campaign.loyalty_tier.updated",
        "campaign.promotion_stack.created",
        "campaign.promotion_stack.updated",
        "campaign.promotion_tier.created",
        "campaign.promotion_tier.deleted",
        "campaign.promotion_tier.disabled",
        "campaign.promotion_tier.enabled",
        "campaign.promotion_tier.updated",
        "campaign.referral_tier.created",
        "campaign.referral_tier.deleted",
        "campaign.referral_tier.updated",
        "campaign.reward.assignment.created",
        "campaign.reward.assignment.deleted",
        "campaign.reward.assignment.updated",
        "campaign.updated",
        "campaign.vouchers.aded",
        "campaign.vouchers.generation.completed",
        "campaign.vouchers.generation.failed",
        "campaign.vouchers.generation.started",
        "customer.confirmed",
        "customer.created",
        "customer.deleted",
        "customer.rewarded",
        "customer.rewarded.loyalty_points",
        "publication.succeeded",
        "redemption.failed",
        "redemption.rollback.failed",
        "redemption.rollback.succeeded",
        "redemption.succeeded",
        "voucher.created",
        "voucher.deleted",
        "voucher.disabled",
        "voucher.enabled",
        "voucher.gift.balance_aded",
        "voucher.gift.transaction.created",
        "voucher.loyalty_card.pending_points.activated",
        "voucher.loyalty_card.pending_points.aded",
        "voucher.loyalty_card.pending_points.canceled",
        "voucher.loyalty_card.pending_points.updated",
        "voucher.loyalty_card.points_aded",
        "voucher.loyalty_card.points_expired",
        "voucher.loyalty_card.transaction.created",
        "voucher.published",
        "voucher.updated",
    ]
)


class WebhookWrite(Struct, kw_only=True):
    """The body of POST and PUT (`target_url` and `events` required by both)."""

    target_url: str | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class Webhook(Struct, kw_only=True):
    id: str
    object: str = "webhook"
    created_at: str
    target_url: str
    events: list[str]
    active: bool


class WebhookList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[Webhook]
    total: int
