"""Wire structs for exports (names and shapes from the Voucherify spec, exports.json)."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import UNSET, Raw, Struct, UnsetType


class ExportParameters(Struct, kw_only=True):
    """`parameters` of ExportsCreateRequestBody; unknown keys are ignored, as elsewhere."""

    fields: list[str] | UnsetType | None = UNSET
    filters: dict[str, Any] | UnsetType | None = UNSET
    order: str | UnsetType | None = UNSET
    response_format: str | UnsetType | None = UNSET


class ExportCreate(Struct, kw_only=True):
    exported_object: str | UnsetType | None = UNSET
    parameters: ExportParameters | UnsetType | None = UNSET


class ExportResult(Struct, kw_only=True):
    url: str


class Export(Struct, kw_only=True):
    """ExportBase + the exported object's parameters (ExportCustomer, ExportVoucher, …)."""

    id: str
    object: Literal["export"] = "export"
    created_at: str
    status: str  # SCHEDULED | IN_PROGRESS | DONE | ERROR
    channel: str
    exported_object: str
    parameters: Raw
    result: ExportResult | None
    user_id: str | None = None


class ExportList(Struct, kw_only=True):
    object: Literal["list"] = "list"
    data_ref: Literal["exports"] = "exports"
    exports: list[Export]
    total: int
