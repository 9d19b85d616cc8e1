"""Voucher codes from a campaign's code_config (Voucherify's CodeConfig semantics)."""

from __future__ import annotations

import secrets
import string

from patrons.core.errors import InvalidPayload
from patrons.redeemables.schemas import CodeConfig

DEFAULT_CHARSET = string.ascii_letters + string.digits
DEFAULT_LENGTH = 8
MAX_CODE_LENGTH = 255


def check(config: CodeConfig | None) -> None:
    """Refuse a config that cannot produce codes, before anything is stored."""
    if config is None:
        return
    if config.charset is not None and len(set(config.charset)) < 2:
        raise InvalidPayload("Property .code_config.charset must hold at least 2 characters")
    if config.length is not None and not 1 <= config.length <= 100:
        raise InvalidPayload("Property .code_config.length must be >= 1 and <= 100")
    if config.pattern is not None and "#" not in config.pattern:
        raise InvalidPayload("Property .code_config.pattern must contain at least one '#'")
    if len(generate(config)) > MAX_CODE_LENGTH:
        raise InvalidPayload(f"Generated codes would be longer than {MAX_CODE_LENGTH} characters")


def generate(config: CodeConfig | None) -> str:
    """One random code: `pattern` with each '#' replaced, or `length` characters, framed by
    prefix and postfix."""
    config = config or CodeConfig()
    charset = config.charset or DEFAULT_CHARSET
    if config.pattern:
        body = "".join(secrets.choice(charset) if c == "#" else c for c in config.pattern)
    else:
        body = "".join(secrets.choice(charset) for _ in range(config.length or DEFAULT_LENGTH))
    return f"{config.prefix or ''}{body}{config.postfix or ''}"


def space(config: CodeConfig | None) -> int:
    """How many distinct codes the config can produce (capped, for "too many requested")."""
    config = config or CodeConfig()
    charset = len(set(config.charset or DEFAULT_CHARSET))
    slots = config.pattern.count("#") if config.pattern else (config.length or DEFAULT_LENGTH)
    return min(charset**slots, 10**12)
