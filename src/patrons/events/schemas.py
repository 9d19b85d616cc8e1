"""Wire structs for custom events (events.json: EventsCreateRequestBody / ResponseBody)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from patrons.core.limits import CODE_MAX, EVENT_NAME_MAX, SOURCE_ID_MAX
from patrons.customers.schemas import CustomerCreate

EventName = Annotated[str, Meta(min_length=1, max_length=EVENT_NAME_MAX)]
Code = Annotated[str, Meta(max_length=CODE_MAX)]
RefId = Annotated[str, Meta(max_length=SOURCE_ID_MAX)]


class ReferralRef(Struct, kw_only=True):
    """A referral code sent with the event (kept in the event; no conversion is run)."""

    code: Code
    referrer_id: RefId | UnsetType | None = UNSET


class LoyaltyRef(Struct, kw_only=True):
    """A loyalty card sent with the event (kept in the event; no earning rule is run)."""

    code: Code


class EventCreate(Struct, kw_only=True):
    """`event` and `customer` are required; unknown fields are ignored."""

    event: EventName
    customer: CustomerCreate
    metadata: dict[str, Any] | UnsetType | None = UNSET
    referral: ReferralRef | UnsetType | None = UNSET
    loyalty: LoyaltyRef | UnsetType | None = UNSET


class SimpleCustomer(Struct, kw_only=True):
    """SimpleCustomerRequiredObjectType: unset name/email are left out, as on the Customer."""

    id: str
    source_id: str | None
    name: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    metadata: Raw
    object: str = "customer"


class EventCreated(Struct, kw_only=True):
    """EventsCreateResponseBody: `referral` and `loyalty` are always null (the spec's "A null
    referral object")."""

    object: str = "event"
    type: str
    customer: SimpleCustomer
    referral: None = None
    loyalty: None = None
    metadata: Raw
