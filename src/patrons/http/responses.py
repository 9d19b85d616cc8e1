"""The response writer for answers sent straight over ASGI (the Gateway's, the fast lane's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

JSON = "application/json; charset=utf-8"
_CONTENT_TYPE = (b"content-type", JSON.encode())

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def send_json(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """One complete JSON response: start (with length) and body in two messages."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_CONTENT_TYPE, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
