"""Big JSON bodies read as a stream: one element at a time, never the whole body in memory.

`Splitter` is fed the body piece by piece and hands back the raw bytes of each element of the
array being streamed — the top-level array (`POST /v1/customers/bulk/async`), or the array
under one key of a top-level object (`source_ids` of `/metadata/async`); the object's other
members come back whole (bounded). Each piece is decoded by msgspec on its own, so memory is
one element plus one body piece, whatever the body's size. Only the structure between elements
is scanned here (strings skipped by one regex, C speed); the elements' own syntax is left to the
decoder. Nesting deeper than `limits.JSON_MAX_DEPTH` is refused as it is met.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from patrons.core import limits
from patrons.core.errors import InvalidPayload, UnsupportedMediaType

# A whole string, a lone quote (a string cut by the end of the data so far), or structure.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{},:]')


_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


def _nested(inner: bytes) -> bytes:
    """An object or array whose members are plain text, strings or `inner` values."""
    body = rb'(?:[^"{}\[\]]++|' + _STRING + (b"|" + inner if inner else b"") + rb")*+"
    return rb"(?:\{" + body + rb"\}|\[" + body + rb"\])"


# The fast path: a run of whole elements (each nested up to three levels), each followed by
# its `,`, matched in one C-speed call and handed back as one piece. What is left (the last
# element, one cut by the end of the data, a deeper or malformed one) goes through the token
# scanner, which also enforces the depth limit.
_RUN = re.compile(
    rb"(?:\s*+(?:" + _nested(_nested(_nested(b""))) + b"|" + _STRING + rb'|[^\s,\]\[{}"]++)\s*+,)++'
)

_BLANK = re.compile(rb"\s*+\Z")
Piece = tuple[str | None, bytes, bool]
_OPEN = frozenset(b"[{")
_CLOSE = {ord("]"): ord("["), ord("}"): ord("{")}
TOO_DEEP = f"Payload must NOT be nested more than {limits.JSON_MAX_DEPTH} levels deep"


class Splitter:
    """Incremental splitter (see the module doc). `feed` returns `(key, raw, elements)`:
    elements of the streamed array come as `(stream_key, b"e1, e2, …", True)` — one or more
    whole elements separated by commas (decode `b"[" + raw + b"]"`); `stream_key` is None for a
    top-level array. A whole member of a top-level object comes as `(its key, value, False)`."""

    def __init__(self, *, stream_key: str | None = None, max_piece: int) -> None:
        self.stream_key = stream_key
        self.max_piece = max_piece
        self.buf = b""
        self.pos = 0  # where scanning resumes in buf
        self.stack = bytearray()  # open brackets
        self.start: int | None = None  # start of the element or member value being read
        self.stream_depth = 0  # depth of the streamed array's elements' separators; 0: none
        self.key: str | None = None  # the current member's key (object at the top)
        self.expect_key = False
        self.member_from = 0  # where the current member began (after `{` or `,`)
        self.closed_at: int | None = None  # the top-level value's end
        self.may_be_empty = False  # the streamed array has no element yet (`[]` is fine)
        self.fresh = False  # scanning stands at the start of a streamed element

    def _keep(self) -> int:
        """The earliest byte still needed: the element or value being read, else the member
        being begun (in a top-level object), else the scan position."""
        if self.start is not None:
            return self.start
        if len(self.stack) == 1 and self.stack[0] == 0x7B:
            return min(self.pos, self.member_from)
        return self.pos

    def feed(self, data: bytes) -> list[Piece]:
        if self.closed_at is not None:  # the value is complete: only whitespace may follow
            if data.strip():
                raise InvalidPayload("Payload: JSON is malformed: trailing characters")
            return []
        keep = self._keep()
        self.buf = self.buf[keep:] + data
        self.pos -= keep
        self.member_from -= keep
        if self.start is not None:
            self.start -= keep
        out: list[Piece] = []
        self._scan(out)
        held = len(self.buf) - (self.start if self.start is not None else self.pos)
        if held > self.max_piece:
            raise InvalidPayload(
                f"Payload: an element must NOT be larger than {self.max_piece} bytes"
            )
        return out

    def close(self) -> None:
        """The body ended: it must have been exactly one complete value."""
        if self.closed_at is None:
            if not self.stack and not self.buf[self.pos :].strip():
                raise InvalidPayload("Payload must be a JSON object")
            raise InvalidPayload("Payload: JSON is malformed: input data was truncated")
        if self.buf[self.closed_at :].strip():
            raise InvalidPayload("Payload: JSON is malformed: trailing characters")

    # --- scanning ---------------------------------------------------------------------------
    def _scan(self, out: list[Piece]) -> None:
        buf, stack = self.buf, self.stack
        pos = self.pos
        while True:
            if self.fresh:
                run = _RUN.match(buf, pos)
                if run is not None:
                    out.append((self.stream_key, buf[pos : run.end() - 1], True))
                    self.may_be_empty = False
                    self.start = pos = run.end()
                if _BLANK.match(buf, pos):  # the data so far is used up: stay on the fast path
                    break
                self.fresh = False
            match = _TOKEN.search(buf, pos)
            if match is None:
                break
            at, end = match.start(), match.end()
            pos = end
            char = buf[at]
            if self.closed_at is not None:
                raise InvalidPayload("Payload: JSON is malformed: trailing characters")
            if char == 0x22:  # '"'
                if end - at == 1:  # a string cut short: wait for more data
                    self.pos = at
                    return
                if self.expect_key and len(stack) == 1:
                    self._take_key(at, end)
                continue
            if char in _OPEN:
                self._open(char, at, end)
            elif char in _CLOSE:
                self._close(char, at, end, out)
            elif char == 0x2C:  # ','
                self._comma(at, end, out)
            else:  # ':'
                if len(stack) == 1 and stack[0] == 0x7B and self.key is not None:
                    if self.expect_key or self.start is not None:
                        raise InvalidPayload("Payload: JSON is malformed: unexpected ':'")
                    self.start = end
        self.pos = len(buf)

    def _take_key(self, at: int, end: int) -> None:
        if self.buf[self.member_from : at].strip():
            raise InvalidPayload("Payload: JSON is malformed: expected a key")
        try:
            self.key = msgspec.json.decode(self.buf[at:end], type=str)
        except (msgspec.MsgspecError, UnicodeDecodeError):
            raise InvalidPayload("Payload: JSON is malformed: a key is not a string") from None
        self.expect_key = False

    def _open(self, char: int, at: int, end: int) -> None:
        stack = self.stack
        if not stack:
            if self.buf[:at].strip():
                raise InvalidPayload("Payload: JSON is malformed: unexpected characters")
            if char == 0x5B and self.stream_key is None:  # a top-level array: stream it
                self.stream_depth, self.start, self.may_be_empty = 1, end, True
                self.fresh = True
            elif char == 0x7B:
                self.expect_key, self.member_from = True, end
        elif (
            len(stack) == 1
            and stack[0] == 0x7B
            and char == 0x5B
            and self.stream_key is not None
            and self.key == self.stream_key
            and self.start is not None
            and not self.buf[self.start : at].strip()
        ):
            self.stream_depth, self.start = 2, end  # the streamed member's array
            self.may_be_empty = self.fresh = True
        stack.append(char)
        if len(stack) > limits.JSON_MAX_DEPTH:
            raise InvalidPayload(TOO_DEEP)

    def _element(self, at: int, out: list[Piece], *, last: bool) -> None:
        assert self.start is not None
        raw = self.buf[self.start : at].strip()
        if raw:
            out.append((self.stream_key, raw, True))
        elif not (last and self.may_be_empty):  # `[]` is fine, `[1,]` is not
            raise InvalidPayload("Payload: JSON is malformed: expected an element")
        self.may_be_empty = False

    def _close(self, char: int, at: int, end: int, out: list[Piece]) -> None:
        stack = self.stack
        if not stack or stack[-1] != _CLOSE[char]:
            raise InvalidPayload("Payload: JSON is malformed: mismatched brackets")
        if self.stream_depth and len(stack) == self.stream_depth:
            self._element(at, out, last=True)
            self.start = None
            if self.stream_depth == 2:
                self.stream_depth = 0
                self.member_from = end  # the member is done: nothing but `,` or `}` may follow
                self.key = None
        elif len(stack) == 1 and stack[0] == 0x7B:
            self._member(at, out)
        stack.pop()
        if not stack:
            self.closed_at = end

    def _comma(self, at: int, end: int, out: list[Piece]) -> None:
        if self.stream_depth and len(self.stack) == self.stream_depth:
            self._element(at, out, last=False)
            self.start = end
            self.fresh = True
        elif len(self.stack) == 1 and self.stack[0] == 0x7B:
            self._member(at, out)
            self.expect_key, self.member_from = True, end

    def _member(self, at: int, out: list[Piece]) -> None:
        """A top-level object's member ends at `at` (its `,` or `}`)."""
        if self.start is not None:  # a whole (not streamed) value
            raw = self.buf[self.start : at].strip()
            if not raw:
                raise InvalidPayload("Payload: JSON is malformed: expected a value")
            if self.key is not None and self.key == self.stream_key:
                raise InvalidPayload(f"Property .{self.key}: Expected array")
            out.append((self.key, raw, False))
        elif self.buf[self.member_from : at].strip():
            raise InvalidPayload("Payload: JSON is malformed: unexpected characters")
        self.start, self.key = None, None


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def json_pieces(
    request: Any, *, stream_key: str | None = None, max_piece: int = limits.JSON_PIECE_MAX_BYTES
) -> AsyncIterator[Piece]:
    """The request body's elements/members as they arrive (see `Splitter`)."""
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        raise UnsupportedMediaType(f"Content-Type {content_type.split(';')[0]} is not supported")
    splitter = Splitter(stream_key=stream_key, max_piece=max_piece)
    async for data in request.stream():
        if data:
            for piece in splitter.feed(data):
                if b"\\u0000" in piece[1]:
                    raise InvalidPayload(
                        "Payload: strings must not contain the NUL character (\\u0000)"
                    )
                yield piece
    splitter.close()
