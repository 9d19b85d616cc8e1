"""One exception tree for every error the API returns.

Each error carries its HTTP status and Voucherify `key`; api/errors.py renders them all into
Voucherify's error object, so handlers just raise.
"""

from __future__ import annotations


class PatronsError(Exception):
    status: int = 500
    key: str | None = None
    message: str = "Internal server error"

    def __init__(
        self,
        details: str | None = None,
        *,
        resource_id: str | None = None,
        resource_type: str | None = None,
    ) -> None:
        super().__init__(details or self.message)
        self.details = details
        self.resource_id = resource_id
        self.resource_type = resource_type


class InvalidPayload(PatronsError):
    status = 400
    key = "invalid_payload"
    message = "Invalid payload"


class InvalidQueryParams(PatronsError):
    status = 400
    key = "invalid_query_params"
    message = "Invalid query params"


class Unauthorized(PatronsError):
    status = 401
    key = "unauthorized"
    message = "Unauthorized"


class NotFound(PatronsError):
    status = 404
    key = "not_found"
    message = "Resource not found"

    def __init__(self, resource_type: str, resource_id: str) -> None:
        super().__init__(
            f"Cannot find {resource_type} with id {resource_id}",
            resource_id=resource_id,
            resource_type=resource_type,
        )


class RouteNotFound(PatronsError):
    status = 404
    key = "not_found"
    message = "Resource not found"


class MethodNotAllowed(PatronsError):
    status = 405
    key = None
    message = "HTTP Method Not Allowed"


class DuplicateFound(PatronsError):
    status = 409
    key = "duplicate_found"
    message = "Duplicated resource found"


class PayloadTooLarge(PatronsError):
    """Rendered in the boom shape Voucherify uses for 413, not the usual error object."""

    status = 413
    key = None
    message = "Request Entity Too Large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Payload content length greater than maximum allowed: {limit}")
        self.limit = limit


class UnsupportedMediaType(PatronsError):
    status = 415
    key = None
    message = "Unsupported Media Type"


class InternalError(PatronsError):
    status = 500
    key = "internal_error"
    message = "Internal server error"
