"""One exception tree for every error the API returns.

Each error carries its HTTP status and Voucherify `key`; http/errors.py renders them all into
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


class MissingParameters(PatronsError):
    """An OAuth form without a required field (`grant_type`, `scope`, `access_token`)."""

    status = 400
    key = "missing_parameters"
    message = "Missing parameters"


class InvalidGrantType(PatronsError):
    status = 400
    key = "invalid_grant_type"
    message = "Invalid grant_type"


class InvalidScope(PatronsError):
    """The message names the rejected values, as Voucherify's does (`Invalid scope: a,b`)."""

    status = 400
    key = "invalid_scope"
    message = "Invalid scope"

    def __init__(self, values: str) -> None:
        super().__init__()
        self.message = f"Invalid scope: {values}"


class MissingPermission(PatronsError):
    """Authenticated, but not allowed here (an OAuth token without a fitting scope)."""

    status = 403
    key = "missing_required_permission"
    message = "Missing permission"


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


class TokenNotFound(PatronsError):
    """Revoking an unknown or inactive OAuth token; the token itself is never echoed back."""

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


class ResourceInUse(PatronsError):
    """A permanent deletion blocked by a job that is still reading the person's data."""

    status = 409
    key = "resource_in_use"
    message = "Resource in use"


class InvalidIdempotencyKey(PatronsError):
    status = 400
    key = "invalid_idempotency_key"
    message = "Invalid idempotency key"


class IdempotencyKeyReused(PatronsError):
    """The same Idempotency-Key with a different method, path, query or body."""

    status = 409
    key = "idempotency_key_reused"
    message = "Idempotency key already used for a different request"


class IdempotencyKeyInProgress(PatronsError):
    """The first request with this key is still running (a retry may replay it later)."""

    status = 409
    key = "idempotency_key_in_progress"
    message = "A request with this idempotency key is still being processed"


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


class TooManyRequests(PatronsError):
    """A spent rate-limit budget. Voucherify's 429 body is just `code` and `message`."""

    status = 429
    key = None
    message = "Too many requests hit the API too quickly."


class InternalError(PatronsError):
    status = 500
    key = "internal_error"
    message = "Internal server error"
