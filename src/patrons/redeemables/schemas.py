"""Wire structs for campaigns, vouchers, publications and holders (Voucherify's names/shapes).

Request structs are permissive where the SDKs send extra or explicit-null fields; the shapes
that matter (types, amounts, dates) are validated by msgspec and then by the services.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from patrons.core.limits import CODE_MAX, NAME_MAX

VoucherType = Literal["DISCOUNT_VOUCHER", "GIFT_VOUCHER", "LOYALTY_CARD"]
CampaignType = Literal["DISCOUNT_COUPONS", "GIFT_VOUCHERS", "LOYALTY_PROGRAM", "REFERRAL_PROGRAM"]
HolderRole = Literal["OWNER", "REFERRER", "REFEREE"]

# The voucher type every campaign type issues (a referral campaign issues discount codes).
VOUCHER_TYPE_OF: dict[str, str] = {
    "DISCOUNT_COUPONS": "DISCOUNT_VOUCHER",
    "REFERRAL_PROGRAM": "DISCOUNT_VOUCHER",
    "GIFT_VOUCHERS": "GIFT_VOUCHER",
    "LOYALTY_PROGRAM": "LOYALTY_CARD",
}

OptStr = str | None | UnsetType
OptInt = int | None | UnsetType
OptBool = bool | None | UnsetType
OptObj = dict[str, Any] | None | UnsetType
# Bounded texts (core/limits.py): msgspec refuses longer values while decoding, before any SQL.
Name = Annotated[str, Meta(max_length=NAME_MAX)]
Code = Annotated[str, Meta(max_length=CODE_MAX)]


class CodeConfig(Struct):
    length: int | None = None
    charset: Code | None = None
    prefix: Code | None = None
    postfix: Code | None = None
    pattern: Code | None = None


class GiftWrite(Struct):
    amount: int | None = None
    balance: int | None = None  # accepted and ignored on create: balance starts at amount
    effect: Literal["APPLY_TO_ORDER", "APPLY_TO_ITEMS"] | None = None


class LoyaltyCardWrite(Struct):
    points: int | None = None
    balance: int | None = None  # accepted and ignored on create: balance starts at points


class RedemptionWrite(Struct):
    quantity: int | None = None


class VoucherWrite(Struct, kw_only=True):
    """POST /v1/vouchers, POST /v1/vouchers/{code} and PUT /v1/vouchers/{code}.

    UNSET = absent (keep), None = explicit null (clear) on PUT.
    """

    code: Code | UnsetType | None = UNSET
    code_config: CodeConfig | UnsetType | None = UNSET
    campaign: OptStr = UNSET
    campaign_id: OptStr = UNSET
    category: OptStr = UNSET
    category_id: OptStr = UNSET
    type: VoucherType | UnsetType | None = UNSET
    discount: OptObj = UNSET
    gift: GiftWrite | UnsetType | None = UNSET
    loyalty_card: LoyaltyCardWrite | UnsetType | None = UNSET
    redemption: RedemptionWrite | UnsetType | None = UNSET
    start_date: OptStr = UNSET
    expiration_date: OptStr = UNSET
    validity_timeframe: OptObj = UNSET
    validity_day_of_week: list[int] | UnsetType | None = UNSET
    validity_hours: OptObj = UNSET
    active: OptBool = UNSET
    additional_info: OptStr = UNSET
    metadata: OptObj = UNSET
    validation_rules: list[Any] | UnsetType | None = UNSET


class VoucherTemplate(Struct, kw_only=True):
    """A campaign's `voucher` object: what every generated code looks like."""

    type: VoucherType | None = None
    code_config: CodeConfig | None = None
    discount: dict[str, Any] | None = None
    gift: GiftWrite | None = None
    loyalty_card: LoyaltyCardWrite | None = None
    redemption: RedemptionWrite | None = None
    is_referral_code: bool | None = None


class CampaignCreate(Struct, kw_only=True):
    name: Name
    description: str | None = None
    # Absent: taken from `voucher.type` (LOYALTY_CARD → LOYALTY_PROGRAM, GIFT_VOUCHER →
    # GIFT_VOUCHERS), else DISCOUNT_COUPONS — the spec's defaults (campaigns.create_campaign).
    campaign_type: CampaignType | None = None
    type: Literal["AUTO_UPDATE", "STATIC"] | None = None
    voucher: VoucherTemplate | None = None
    vouchers_count: int | None = None
    auto_join: bool | None = None
    join_once: bool | None = None
    start_date: str | None = None
    expiration_date: str | None = None
    active: bool | None = None
    metadata: dict[str, Any] | None = None
    referral_program: dict[str, Any] | None = None
    category: str | None = None


# --- responses --------------------------------------------------------------------------------


class Voucher(Struct, kw_only=True):
    """The voucher object (VouchersGetResponseBody / RedeemableVoucher)."""

    id: str
    code: str
    campaign: str | None
    campaign_id: str | None
    category: str | None
    category_id: str | None
    categories: list[Any]
    type: str
    discount: Raw | None
    gift: dict[str, Any] | None
    loyalty_card: dict[str, Any] | None
    start_date: str | None
    expiration_date: str | None
    validity_timeframe: Raw | None
    validity_day_of_week: Raw | None
    validity_hours: Raw | None
    active: bool
    additional_info: str | None
    metadata: Raw
    assets: None
    is_referral_code: bool
    created_at: str
    updated_at: str | None
    holder_id: str | None
    referrer_id: str | None
    object: str = "voucher"
    publish: dict[str, Any]
    redemption: dict[str, Any]


class Campaign(Struct, kw_only=True):
    id: str
    name: str
    description: str | None
    campaign_type: str
    type: str
    voucher: Raw
    auto_join: bool
    join_once: bool
    use_voucher_metadata_schema: bool = False
    vouchers_count: int
    start_date: str | None
    expiration_date: str | None
    active: bool
    metadata: Raw
    created_at: str
    updated_at: str | None
    category: str | None = None
    category_id: str | None = None
    categories: list[Any] = []
    creation_status: str = "DONE"
    vouchers_generation_status: str
    async_action_id: str | None
    readonly: bool = False
    protected: bool = False
    referral_program: Raw | None
    object: str = "campaign"


class CampaignList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "campaigns"
    campaigns: list[Campaign]
    total: int


class Publication(Struct, kw_only=True):
    id: str
    object: str = "publication"
    created_at: str
    customer_id: str
    tracking_id: str | None
    metadata: Raw
    channel: str
    source_id: str | None
    result: str = "SUCCESS"
    customer: Raw
    vouchers_id: list[str]
    voucher: Voucher | None = None
    vouchers: list[str] | None = None


class PublicationListItem(Struct, kw_only=True):
    """A publication in GET /v1/publications: the POST answer's fields, with the voucher cut to
    the spec's ListPublicationsItemVoucher and the channel as sent."""

    id: str
    object: str = "publication"
    created_at: str
    customer_id: str
    tracking_id: str | None
    metadata: Raw
    channel: str
    source_id: str | None
    result: str = "SUCCESS"
    customer: Raw
    vouchers_id: list[str]
    voucher: Raw


class PublicationList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "publications"
    publications: list[PublicationListItem]
    total: int


class RedeemableView(Struct):
    type: str
    voucher: Voucher
    status: str


class HolderBase(Struct, kw_only=True):
    """The fields of a redeemable-holder row, shared by both views of it."""

    id: str
    created_at: str
    redeemable_id: str
    redeemable_object: str
    customer_id: str
    holder_role: str
    campaign_id: str | None
    campaign_type: str | None
    voucher_type: str


class CustomerRedeemable(HolderBase, kw_only=True):
    redeemable: RedeemableView


class CustomerRedeemableList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[CustomerRedeemable]
    total: int
    has_more: bool
    more_starting_after: str | UnsetType = UNSET  # absent on the last page (not nullable)


class Holder(HolderBase, kw_only=True):
    """A redeemable holder as the referral holders endpoints return it."""

    object: str = "redeemable_holder"
    metadata: dict[str, Any] = {}
