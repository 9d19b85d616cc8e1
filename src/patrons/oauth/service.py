"""OAuth 2.0 client credentials: issue, introspect and revoke tokens; authenticate Bearer calls.

Tokens live only in the database (as sha256 hashes) and every Bearer call reads its row, so a
revocation or expiry takes effect at once on every API process: there is no cache to outlive it.
"""

from __future__ import annotations

import hashlib
import secrets

from patrons.core.clock import now_ms
from patrons.core.errors import (
    InvalidGrantType,
    InvalidScope,
    MissingParameters,
    MissingPermission,
    TokenNotFound,
    Unauthorized,
)
from patrons.db.database import Conn, Database
from patrons.http.paths import api_segments
from patrons.oauth import repository
from patrons.oauth.schemas import InactiveToken, OAuthToken, OAuthTokenIntrospection
from patrons.projects.service import Project

GRANT_TYPE = "client_credentials"
# The values oauth.json allows for `scope` (OAuthTokenGenerateRequestBody).
SCOPES = frozenset(
    [
        "api",
        "assets",
        "async-actions",
        "campaigns",
        "categories",
        "client_api",
        "client_consents",
        "client_customers",
        "client_events",
        "client_promotions",
        "client_publish",
        "client_qualifications",
        "client_redeem",
        "client_redemptions",
        "client_validate",
        "client_validations",
        "client_vouchers",
        "consents",
        "customers",
        "events",
        "exports",
        "locations",
        "loyalties",
        "metadata-schemas",
        "orders",
        "product-collections",
        "products",
        "promotions",
        "publications",
        "qualifications",
        "redemptions",
        "referrals",
        "rewards",
        "segments",
        "skus",
        "task-results",
        "templates",
        "trash-bin",
        "validation-rules-assignments",
        "validation-rules",
        "validations",
        "vouchers",
    ]
)
# Each server-side scope other than `api` grants the paths under /v1/<scope> (the spec's
# X-Voucherify-OAuth scheme: "all endpoints and methods starting with `/v1/<scope>`", and the
# `security` blocks: customers, segments, async-actions, campaigns, vouchers, publications,
# loyalties, ...); `api` grants every server-side path.
_PATH_SCOPES = frozenset(s for s in SCOPES if s != "api" and not s.startswith("client_"))
_API_ONLY = frozenset({"api"})
# Tokens are got and managed with the App keys only (oauth.json's `security`): a token that
# could mint tokens would outlive its own expiry and its key's deletion.
_APP_KEYS_ONLY = "oauth"
# Expired tokens are kept this long (introspection says inactive either way), then pruned.
_KEEP_EXPIRED_MS = 24 * 3600 * 1000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def required_scopes(path: str) -> frozenset[str] | None:
    """The scopes any one of which lets a token call `path`; None: tokens may not call it."""
    segments = api_segments(path)
    segment = segments[0] if segments else ""
    if segment == _APP_KEYS_ONLY:
        return None
    if segment in _PATH_SCOPES:
        return frozenset({"api", segment})
    return _API_ONLY


def parse_scope(scope: str | None) -> str:
    """The requested scope, normalised to single spaces, or the spec's 400s."""
    values = (scope or "").split()
    if not values:
        raise MissingParameters("Property .scope is required")
    invalid = [v for v in values if v not in SCOPES]
    if invalid:
        raise InvalidScope(" ".join(invalid))
    return " ".join(dict.fromkeys(values))  # repeated values once, order kept


async def issue(
    conn: Conn, *, project: Project, grant_type: str | None, scope: str | None, ttl_seconds: int
) -> OAuthToken:
    if not grant_type:
        raise MissingParameters("Property .grant_type is required")
    if grant_type != GRANT_TYPE:
        raise InvalidGrantType(f"grant_type must be {GRANT_TYPE}")
    normalised = parse_scope(scope)
    token = secrets.token_urlsafe(36)  # 48 URL-safe characters, 288 random bits
    now = now_ms()
    expires = now + ttl_seconds * 1000
    await repository.prune(conn, project_id=project.id, before=now - _KEEP_EXPIRED_MS)
    await repository.insert(
        conn,
        project_id=project.id,
        token_hash=hash_token(token),
        client_id=project.app_id,
        scope=normalised,
        created_at=now,
        expires_at=expires,
    )
    return OAuthToken(
        access_token=token,
        client_id=project.app_id,
        expires_at=expires // 1000,
        expires_in=ttl_seconds,
        scope=normalised,
    )


async def introspect(
    db: Database, *, project: Project, access_token: str | None
) -> OAuthTokenIntrospection | InactiveToken:
    if not access_token:
        raise MissingParameters("Property .access_token is required")
    now = now_ms()
    row = await repository.get_active(
        db, project_id=project.id, token_hash=hash_token(access_token), now=now
    )
    if row is None:
        return InactiveToken()
    return OAuthTokenIntrospection(
        access_token=access_token,
        client_id=row["client_id"],
        expires_at=row["expires_at"] // 1000,
        expires_in=max(0, (row["expires_at"] - now) // 1000),
        scope=row["scope"],
    )


async def revoke(conn: Conn, *, project: Project, access_token: str | None) -> None:
    if not access_token:
        raise MissingParameters("Property .access_token is required")
    revoked = await repository.revoke(
        conn, project_id=project.id, token_hash=hash_token(access_token), now=now_ms()
    )
    if not revoked:
        raise TokenNotFound("Cannot find an active token with this value")


class BearerAuthenticator:
    """Checks `Authorization: Bearer …` against the token table on every call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def authenticate(self, authorization: str, path: str) -> Project:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized()
        needed = required_scopes(path)
        if needed is None:  # checked first: no token, however valid, may call these paths
            raise Unauthorized("OAuth endpoints take X-App-Id and X-App-Token")
        row = await repository.get_for_bearer(self.db, token_hash=hash_token(token), now=now_ms())
        if row is None:
            raise Unauthorized()
        if needed.isdisjoint(row["scope"].split()):
            wanted = " or ".join(sorted(needed))
            raise MissingPermission(
                f"The token's scope does not cover this path; it needs {wanted}"
            )
        return Project(row["project_id"], row["client_id"])
