"""Wire structs for consents (the JS SDK's types/Consents.ts; the calls are gone from the spec)."""

from __future__ import annotations

from msgspec import Struct

# "To deny all consents use unsubscribed as a consent identifier and true as its value."
UNSUBSCRIBED = "unsubscribed"


class Consent(Struct, kw_only=True):
    """A consent definition. Patrons has no dashboard to define consents: a definition is a
    consent id the project has set on some customer; its name is the id, its category ''."""

    id: str
    name: str
    category: str = ""
    created_at: str
    updated_at: str | None = None
    object: str = "consent"


class ConsentGroup(Struct, kw_only=True):
    id: str
    name: str
    consents: list[str]
    created_at: str
    object: str = "consent_group"


class ConsentList(Struct, kw_only=True):
    data: list[Consent]
    total: int
    object: str = "list"
    data_ref: str = "data"


class GroupList(Struct, kw_only=True):
    data: list[ConsentGroup]
    total: int
    object: str = "list"
    data_ref: str = "data"


class ConsentsListed(Struct, kw_only=True):
    """ConsentsListResponse: `groups` (always empty: no way to define one) and `consents`."""

    groups: GroupList
    consents: ConsentList
