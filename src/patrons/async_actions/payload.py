"""A job's stored input, read back in bounded pieces as complete lines or CSV rows.

Uploads are stored as fixed-size pieces (`PIECE_BYTES`). A reader starts at a byte offset that
is always a row boundary (the last checkpoint), loads pieces until it holds enough lines, and
returns whole rows plus the byte offset just after the last one — so a worker never holds more
than about one chunk of input in memory, and a resumed job starts exactly where the last
committed chunk ended.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from typing import IO, Any

from patrons.async_actions import repository
from patrons.core import limits
from patrons.db.database import Conn, Database

PIECE_BYTES = 1 << 20
limits.lift_csv_field_limit()  # a huge cell fails its row (handlers check cells), not the read


def split_pieces(data: bytes) -> Iterator[tuple[int, bytes]]:
    for seq, start in enumerate(range(0, len(data), PIECE_BYTES)):
        yield seq, data[start : start + PIECE_BYTES]


def read_pieces(file: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    seq = 0
    while data := file.read(PIECE_BYTES):
        yield seq, data
        seq += 1


class _NeedMore(Exception):
    """The buffered lines ended inside a row (a quoted field spans past them)."""


async def read_rows(
    db: Database | Conn,
    *,
    project_id: str,
    action_id: str,
    offset: int,
    total_bytes: int,
    max_rows: int,
    as_csv: bool,
    off_loop: bool = False,
    convert: Callable[[list[Any]], Any] | None = None,
) -> tuple[Any, int]:
    """Up to `max_rows` complete rows from `offset`, and the offset after the last one.

    Blank lines are skipped (they count as consumed bytes, not rows). Returns an empty list
    and `total_bytes` at the end of the payload. `off_loop`: parse on a thread (a chunk's
    rows: the loop meanwhile drives the database's work on the previous chunk). `convert`:
    what is returned instead of the rows, `convert(rows)`, run on the parsing thread — in the
    same hop, since on SQLite the loop gets control back only after the previous chunk's
    transaction (its calls never yield), so a second hop would not start until then.
    """
    seq = offset // PIECE_BYTES
    buffer = b""
    skip = offset - seq * PIECE_BYTES
    while True:
        piece = await repository.payload_piece(
            db, project_id=project_id, action_id=action_id, seq=seq
        )
        seq += 1
        at_end = piece is None or seq * PIECE_BYTES >= total_bytes
        buffer += (piece or b"")[skip:] if skip else (piece or b"")
        skip = 0
        if at_end or buffer.count(b"\n") > max_rows:
            args = (buffer, max_rows, at_end, as_csv, convert)
            rows, used = await asyncio.to_thread(_parse, *args) if off_loop else _parse(*args)
            if used or at_end:
                return rows, offset + used


def _parse(
    buffer: bytes,
    max_rows: int,
    at_end: bool,
    as_csv: bool,
    convert: Callable[[list[Any]], Any] | None = None,
) -> tuple[Any, int]:
    """The buffer's complete rows (converted when `convert`), and the bytes they took; no
    bytes when the buffer holds no complete row (the caller reads another piece)."""
    rows, used = _rows(buffer, max_rows, at_end, as_csv)
    if convert is not None and (used or at_end):
        return convert(rows), used
    return rows, used


def _rows(buffer: bytes, max_rows: int, at_end: bool, as_csv: bool) -> tuple[list, int]:
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        start = 0
        while start < len(buffer):
            end = buffer.find(b"\n", start)
            if end == -1:
                if not at_end:
                    raise _NeedMore
                end = len(buffer) - 1
            line = buffer[start : end + 1]
            start = end + 1
            consumed += len(line)
            yield line.decode("utf-8", errors="replace")
        if not at_end:
            raise _NeedMore

    rows: list = []
    used = 0
    try:
        if as_csv:
            for row in csv.reader(lines()):
                if any(row):  # blank lines (and rows of empty cells) are not rows
                    rows.append(row)
                used = consumed
                if len(rows) >= max_rows:
                    break
        else:
            for line in lines():
                if line.strip():
                    rows.append(line)
                used = consumed
                if len(rows) >= max_rows:
                    break
    except _NeedMore:
        pass
    return rows, used
