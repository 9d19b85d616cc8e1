"""The cockpit's session: a signed cookie naming one App ID, its CSRF token, origin checks.

Nothing is stored server-side. The cookie is `<app id, base64url>.<expiry>.<nonce>.<signature>`;
the signature is an HMAC keyed by the App key's stored token hash (plus the optional
PATRONS_COCKPIT_SECRET), so every API process can check it with one key lookup, and rotating
or deleting the key ends its sessions at once. The CSRF token is a second HMAC of the nonce
with that key: a page can only carry it after reading a signed-in page of the same origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

COOKIE = "patrons_cockpit"
PATH = "/cockpit"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Claims:
    app_id: str
    expires: int
    nonce: str


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _unb64(value: str) -> str:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


def signing_key(secret: str, token_hash: str) -> bytes:
    return hashlib.sha256(f"patrons-cockpit\x00{secret}\x00{token_hash}".encode()).digest()


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def issue(app_id: str, key: bytes, *, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME_SECONDS
    body = f"{_b64(app_id)}.{expires}.{secrets.token_hex(16)}"
    return f"{body}.{_sign(key, body)}"


def claims_of(cookie: str | None) -> Claims | None:
    """The unverified claims of a cookie value (the signature is checked by `verify`)."""
    if not cookie or len(cookie) > 1024:
        return None
    parts = cookie.split(".")
    if len(parts) != 4:
        return None
    try:
        app_id = _unb64(parts[0])
        expires = int(parts[1])
    except (ValueError, UnicodeDecodeError):
        return None
    if expires < time.time() or not app_id:
        return None
    return Claims(app_id, expires, parts[2])


def verify(cookie: str, key: bytes) -> bool:
    body, _, signature = cookie.rpartition(".")
    return hmac.compare_digest(_sign(key, body), signature)


def csrf_token(key: bytes, nonce: str) -> str:
    return _sign(key, f"csrf\x00{nonce}")[:40]


def csrf_ok(key: bytes, nonce: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(key, nonce), sent or "")


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_https(scope: dict[str, Any]) -> bool:
    """Served over HTTPS, or behind a proxy that says the client used it."""
    if scope.get("scheme") == "https":
        return True
    forwarded = _header(scope, b"x-forwarded-proto") or ""
    return forwarded.split(",")[0].strip().lower() == "https"


def same_origin(scope: dict[str, Any]) -> bool:
    """A POST's Origin (else Referer) names this host; one with neither (a script) passes."""
    claimed = _header(scope, b"origin")
    if claimed is None or claimed == "null":
        if claimed == "null":
            return False
        claimed = _header(scope, b"referer")
        if claimed is None:
            return True
    host = _header(scope, b"x-forwarded-host") or _header(scope, b"host")
    try:
        netloc = urlsplit(claimed).netloc
    except ValueError:
        return False
    return bool(host) and netloc.lower() == (host or "").split(",")[0].strip().lower()


def set_cookie_header(value: str, *, secure: bool, max_age: int = LIFETIME_SECONDS) -> str:
    parts = [
        f"{COOKIE}={value}",
        f"Path={PATH}",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie_header(*, secure: bool) -> str:
    return set_cookie_header("", secure=secure, max_age=0)
