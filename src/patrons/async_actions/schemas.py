"""Wire structs for async actions (AsyncActionBase / AsyncActionGetResponseBody)."""

from __future__ import annotations

from msgspec import UNSET, Raw, Struct, UnsetType


class AsyncActionCreated(Struct):
    async_action_id: str


class AsyncAction(Struct, kw_only=True):
    id: str
    type: str
    status: str
    operation_status: str | UnsetType = UNSET
    # Absent (never null) until there is one: the spec types both as non-nullable, and the
    # SDKs treat absent as None (WIRE-FORMAT §3.7).
    result: Raw | UnsetType = UNSET
    created_at: str
    updated_at: str | UnsetType = UNSET
    request_id: str | None = None
    processing_time: int = 0
    progress: int = 0
    object: str = "async_action"


class AsyncActionList(Struct, kw_only=True):
    object: str = "list"
    data_ref: str = "async_actions"
    async_actions: list[AsyncAction]
    has_more: bool
