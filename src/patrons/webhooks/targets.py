"""Where a webhook may point: http(s) URLs, and which addresses a delivery may reach.

A webhook makes the server send requests to a URL a caller chose (server-side request
forgery): without a rule, an App key could aim deliveries at the database, a cloud metadata
endpoint or an admin port on the server's own network. Loopback is allowed by default, for a
receiver on the developer's machine; private, link-local and other non-public ranges are
refused unless `PATRONS_WEBHOOK_ALLOW_PRIVATE` is on. The address is checked when the URL is
saved (an IP literal) and before every attempt (the names a host resolves to). A name that
resolves differently between the check and the connection (DNS rebinding) can still slip
through; redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_loopback: bool = True
    allow_private: bool = False

    def refuses(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_multicast or ip.is_unspecified:
            return True
        if ip.is_loopback:
            return not self.allow_loopback
        if not ip.is_global:  # private, link-local (cloud metadata), CGNAT, reserved, …
            return not self.allow_private
        return False


def url_problem(url: str, policy: AddressPolicy) -> str | None:
    """Why `url` cannot be a webhook target, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"target_url must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "target_url must be a valid http or https URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "target_url must be an http or https URL with a host"
    if any(ch.isspace() for ch in url):
        return "target_url must not contain whitespace"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a name: checked when it resolves, before each attempt
    if policy.refuses(str(literal)):
        return f"target_url points at an address deliveries may not reach ({literal})"
    return None


async def refused_address(url: str, policy: AddressPolicy) -> str | None:
    """Before an attempt: the first address the URL's host resolves to that the policy
    refuses (or why it cannot be resolved); None when every address is allowed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve the target host ({exc.strerror or exc})"
    for info in infos:
        address = str(info[4][0])
        if policy.refuses(address):
            return f"target address not allowed ({address}); see PATRONS_WEBHOOK_ALLOW_PRIVATE"
    return None
