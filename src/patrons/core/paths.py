"""Path parameters as clients send them."""

from __future__ import annotations

from urllib.parse import unquote


def decode_path_id(raw: str) -> str:
    """A path segment as sent (`a%2Fb`, `caf%C3%A9`) → its value, decoded exactly once.

    The Gateway routes on the raw path, so `%2F` never splits a segment; the handler decodes.
    Invalid UTF-8 cannot name a stored customer; U+FFFD keeps it a harmless miss (404).
    """
    return unquote(raw, encoding="utf-8", errors="replace") if "%" in raw else raw
