"""Wire structs for segments."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from patrons.core.limits import NAME_MAX

STATIC, AUTO_UPDATE, PASSIVE = "static", "auto-update", "passive"
TYPES = (STATIC, AUTO_UPDATE, PASSIVE)
MAX_STATIC_CUSTOMERS = 20_000
MAX_RULE_SEGMENTS = 100


class SegmentCreate(Struct):
    name: Annotated[str, Meta(max_length=NAME_MAX)]
    type: str
    customers: list[str] | UnsetType = UNSET
    filter: dict[str, Any] | UnsetType | None = UNSET


class Segment(Struct, kw_only=True):
    id: str
    name: str
    created_at: str
    updated_at: str | None
    type: str
    filter: Raw | None
    initial_sync_status: str = "DONE"
    object: str = "segment"


class SimpleSegment(Struct, kw_only=True):
    id: str
    name: str
    object: str = "segment"


class SegmentList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[Segment]
    total: int


class CustomerSegmentList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "data"
    data: list[SimpleSegment]
    total: int
