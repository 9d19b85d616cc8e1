"""SQL for exports and their file pieces. Every function takes `project_id`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrons.db.database import DB, Conn, Row

# The row, with the job's status beside it: an export whose job FAILED reads as ERROR.
_SELECT = (
    "SELECT e.project_id, e.id, e.exported_object, e.status, e.channel, e.parameters,"
    " e.action_id, e.token, e.after_key, e.row_count, e.byte_count, e.piece_count,"
    " e.created_at, e.updated_at, a.status AS action_status"
    " FROM export e LEFT JOIN async_action a"
    " ON a.project_id = e.project_id AND a.id = e.action_id"
)
_ORDERS = {
    "created_at": "e.created_at ASC, e.id ASC",
    "-created_at": "e.created_at DESC, e.id DESC",
    "status": "e.status ASC, e.created_at DESC, e.id DESC",
    "-status": "e.status DESC, e.created_at DESC, e.id DESC",
}


async def insert(
    conn: Conn,
    *,
    project_id: str,
    export_id: str,
    exported_object: str,
    channel: str,
    parameters: str,
    action_id: str,
    token: str,
    now: int,
) -> None:
    await conn.execute(
        "INSERT INTO export (project_id, id, exported_object, status, channel, parameters,"
        " action_id, token, created_at) VALUES ($1, $2, $3, 'SCHEDULED', $4, $5, $6, $7, $8)",
        project_id,
        export_id,
        exported_object,
        channel,
        parameters,
        action_id,
        token,
        now,
    )


async def get(db: DB, *, project_id: str, export_id: str) -> Row | None:
    return await db.fetchrow(
        f"{_SELECT} WHERE e.project_id = $1 AND e.id = $2", project_id, export_id
    )


async def list_(db: DB, *, project_id: str, order: str, limit: int, offset: int) -> list[Row]:
    return await db.fetch(
        f"{_SELECT} WHERE e.project_id = $1 ORDER BY {_ORDERS[order]}"
        f" LIMIT {int(limit)} OFFSET {int(offset)}",
        project_id,
    )


async def count(db: DB, *, project_id: str) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM export WHERE project_id = $1", project_id))


async def delete(conn: Conn, *, project_id: str, export_id: str) -> bool:
    gone = await conn.fetchval(
        "DELETE FROM export WHERE project_id = $1 AND id = $2 RETURNING id", project_id, export_id
    )
    return gone is not None


async def delete_pieces(conn: Conn, *, project_id: str, export_id: str, limit: int) -> int:
    """Up to `limit` of a (deleted) export's pieces, lowest first; how many went."""
    rows = await conn.fetch(
        "DELETE FROM export_piece WHERE project_id = $1 AND export_id = $2 AND seq IN"
        " (SELECT seq FROM export_piece WHERE project_id = $1 AND export_id = $2"
        f" ORDER BY seq LIMIT {int(limit)}) RETURNING seq",
        project_id,
        export_id,
    )
    return len(rows)


async def advance(
    conn: Conn,
    *,
    project_id: str,
    export_id: str,
    after_key: str | None,
    rows: int,
    size: int,
    pieces: int,
    now: int,
) -> int | None:
    """Move the export past one chunk (IN_PROGRESS, its keyset position, its counts); the
    export's piece count *before* the chunk, i.e. the chunk's first seq — None if the export
    was deleted meanwhile. On PostgreSQL the UPDATE also locks the row against a DELETE."""
    return await conn.fetchval(
        "UPDATE export SET status = 'IN_PROGRESS', after_key = $3, row_count = row_count + $4,"
        " byte_count = byte_count + $5, piece_count = piece_count + $6, updated_at = $7"
        " WHERE project_id = $1 AND id = $2 RETURNING piece_count - $6",
        project_id,
        export_id,
        after_key,
        rows,
        size,
        pieces,
        now,
    )


async def insert_pieces(
    conn: Conn, *, project_id: str, export_id: str, pieces: Sequence[tuple[int, bytes]]
) -> None:
    await conn.executemany(
        "INSERT INTO export_piece (project_id, export_id, seq, data) VALUES ($1, $2, $3, $4)",
        [(project_id, export_id, seq, data) for seq, data in pieces],
    )


async def finish(conn: Conn, *, project_id: str, export_id: str, now: int) -> None:
    await conn.execute(
        "UPDATE export SET status = 'DONE', updated_at = $3 WHERE project_id = $1 AND id = $2",
        project_id,
        export_id,
        now,
    )


async def piece(db: DB, *, project_id: str, export_id: str, seq: int) -> bytes | None:
    data = await db.fetchval(
        "SELECT data FROM export_piece WHERE project_id = $1 AND export_id = $2 AND seq = $3",
        project_id,
        export_id,
        seq,
    )
    return None if data is None else bytes(data)


async def with_personal_data(
    conn: Conn, *, project_id: str, exported_objects: Sequence[str]
) -> list[Row]:
    """Exports of these objects (the eraser decides by their fields which may name a person)."""
    args: list[Any] = [project_id, *exported_objects]
    marks = ", ".join(f"${i}" for i in range(2, len(args) + 1))
    return await conn.fetch(
        "SELECT id, exported_object, parameters FROM export"
        f" WHERE project_id = $1 AND exported_object IN ({marks})",
        *args,
    )
