"""Wire structs for validations, redemptions and rollbacks (validations.json, redemptions.json)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from patrons.core.errors import PatronsError
from patrons.core.limits import CODE_MAX
from patrons.customers.schemas import CustomerCreate
from patrons.orders.schemas import OrderWrite

MAX_REDEEMABLES = 30  # StackableValidateRedeemBase: maxItems
Credits = Annotated[int, Meta(ge=0, le=10**15)]
Code = Annotated[str, Meta(max_length=CODE_MAX)]
Text = Annotated[str, Meta(max_length=1024)]


class GiftCredits(Struct, kw_only=True):
    credits: Credits | UnsetType | None = UNSET


class Reward(Struct, kw_only=True):
    id: str | UnsetType | None = UNSET
    points: Credits | UnsetType | None = UNSET


class RedeemableRef(Struct, kw_only=True):
    """RedeemVoucher / RedeemGiftCard / RedeemLoyaltyCard: a voucher by code."""

    object: str = "voucher"
    id: Code
    gift: GiftCredits | UnsetType | None = UNSET
    reward: Reward | UnsetType | None = UNSET


class StackableRequest(Struct, kw_only=True):
    """POST /v1/validations and POST /v1/redemptions (StackableValidateRedeemBase)."""

    redeemables: list[RedeemableRef]
    order: OrderWrite | UnsetType | None = UNSET
    customer: CustomerCreate | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    tracking_id: Text | UnsetType | None = UNSET
    session: dict[str, Any] | UnsetType | None = UNSET
    options: dict[str, Any] | UnsetType | None = UNSET


class VoucherRequest(Struct, kw_only=True):
    """POST /v1/vouchers/{code}/validate and /redemption (the legacy single-voucher forms)."""

    order: OrderWrite | UnsetType | None = UNSET
    customer: CustomerCreate | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    tracking_id: Text | UnsetType | None = UNSET
    gift: GiftCredits | UnsetType | None = UNSET
    reward: Reward | UnsetType | None = UNSET
    session: dict[str, Any] | UnsetType | None = UNSET


class RollbackRequest(Struct, kw_only=True):
    reason: Text | UnsetType | None = UNSET
    tracking_id: Text | UnsetType | None = UNSET
    customer: CustomerCreate | UnsetType | None = UNSET
    order: OrderWrite | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET


class Inapplicable(PatronsError):
    """A redeemable that cannot be applied: the spec's error key and message (400)."""

    status = 400

    def __init__(self, key: str, message: str, details: str, *, code: str) -> None:
        super().__init__(details, resource_id=code, resource_type="voucher")
        self.key = key
        self.message = message


class RedemptionFailed(PatronsError):
    """A redemption refused (some redeemable inapplicable): the first one's error, and every
    voucher's failure to record after the rollback (customer.redemption.failed)."""

    status = 400

    def __init__(self, first: Inapplicable, failures: list[tuple[str, Inapplicable]]) -> None:
        super().__init__(
            first.details, resource_id=first.resource_id, resource_type=first.resource_type
        )
        self.key = first.key
        self.message = first.message
        if first.key == "not_found":
            self.status = 404
        self.failures = failures  # (voucher code, its error) for vouchers that exist


STACKING_RULES = Raw(
    b'{"redeemables_limit":30,"applicable_redeemables_limit":5,'
    b'"applicable_exclusive_redeemables_limit":1,"applicable_redeemables_per_category_limit":1,'
    b'"applicable_redeemables_category_limits":{},"exclusive_categories":[],'
    b'"joint_categories":[],"redeemables_application_mode":"ALL",'
    b'"redeemables_sorting_rule":"REQUESTED_ORDER","redeemables_no_effect_rule":"REDEEM_ANYWAY",'
    b'"no_effect_skip_categories":[],"no_effect_redeem_anyway_categories":[],'
    b'"redeemables_products_application_mode":"STACK",'
    b'"redeemables_rollback_order_mode":"WITH_ORDER"}'
)


class Validation(Struct, kw_only=True):
    id: str
    valid: bool
    redeemables: list[Raw]
    inapplicable_redeemables: list[Raw] | UnsetType = UNSET
    skipped_redeemables: list[Raw]
    order: Raw | UnsetType = UNSET
    tracking_id: str | UnsetType = UNSET
    stacking_rules: Raw = STACKING_RULES


class Redeemed(Struct, kw_only=True):
    """RedemptionsRedeemResponseBody."""

    redemptions: list[Raw]
    parent_redemption: Raw | UnsetType = UNSET
    order: Raw | UnsetType = UNSET
    inapplicable_redeemables: list[Raw] | UnsetType = UNSET
    skipped_redeemables: list[Raw] | UnsetType = UNSET


class Rollbacks(Struct, kw_only=True):
    """RedemptionsRollbacksCreateResponseBody."""

    rollbacks: list[Raw]
    parent_rollback: Raw | UnsetType = UNSET
    order: Raw | UnsetType = UNSET


class RedemptionList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "redemptions"
    redemptions: list[Raw]
    total: int
