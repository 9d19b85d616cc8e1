"""Wire structs for /v1/oauth (more-openapi/oauth.json)."""

from __future__ import annotations

from msgspec import Struct

BEARER = "Bearer"


class OAuthToken(Struct, kw_only=True):
    access_token: str
    client_id: str
    expires_at: int  # unix seconds
    expires_in: int  # seconds left
    scope: str  # space-separated
    token_type: str = BEARER


class OAuthTokenIntrospection(OAuthToken, kw_only=True):
    active: bool = True


class InactiveToken(Struct):
    """Unknown, expired, revoked or another project's token: only `active: false`."""

    active: bool = False
