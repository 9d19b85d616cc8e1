"""The benchmark's baseline: the least an HTTP server can do to answer the same requests.

A raw ASGI callable (no framework, no middleware, no auth, no wire structs) served by granian
with the same settings as `patrons serve` (1 worker, ASGI interface). It runs the very SQL that
Patrons' repository runs, on the same driver and the same connection settings:

- GET /v1/customers/{id}: `SELECT <COLUMNS> FROM customer WHERE project_id = $1 AND id = $2`
- GET /v1/customers/{source_id}: the same by `source_id` (a path not starting with `cust_`)
- POST /v1/customers: one `INSERT … RETURNING` of the body's fields (no event, no counter, no
  segment upkeep, no upsert) — the single INSERT Patrons' create is measured against
- PUT /v1/customers/{id}: one `UPDATE … SET name, metadata, updated_at … RETURNING`
- GET /v1/customers?limit=&starting_after=: the keyset page Patrons builds for the default
  `-created_at` order (limit + 1 rows, so `has_more` is known), plus the live-customer counter
  read Patrons uses for an unfiltered `total` (its own `repository.live_count`, called on this
  app's connection, so the SQL stays Patrons' as the schema evolves).

and answers with the row(s) as JSON encoded by msgspec. What Patrons costs above this is the
price of its framework and layers. `--style starlette` serves the same queries (`Queries`)
through Starlette routes answering with orjson instead: the baseline issue #16's first table
was measured against (a framework's routing and responses, not the least possible server).

Environment: BENCH_DATABASE_URL (a Patrons database URL), BENCH_PROJECT_ID (whose customers to
serve); PATRONS_PG_POOL_MIN/MAX are honoured exactly as Patrons honours them.

Run: `python bench/baseline_app.py --host 127.0.0.1 --port 8001`
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import asyncpg
import msgspec

from patrons.core.clock import now_ms, parse_datetime_ms
from patrons.core.ids import customer_id
from patrons.customers import repository
from patrons.customers.repository import COLUMNS
from patrons.db import dialect
from patrons.settings import Settings

GET_SQL = f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND id = $2"
BY_SOURCE_SQL = f"SELECT {COLUMNS} FROM customer WHERE project_id = $1 AND source_id = $2"
INSERT_SQL = (
    "INSERT INTO customer (project_id, id, source_id, name, email, address_set, address_city,"
    " address_country, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    f" RETURNING {COLUMNS}"
)
UPDATE_SQL = (
    "UPDATE customer SET name = $3, metadata = $4, updated_at = $5"
    f" WHERE project_id = $1 AND id = $2 RETURNING {COLUMNS}"
)
PAGE_SQL = (
    f"SELECT {COLUMNS} FROM customer WHERE project_id = $1{{cursor}}"
    " ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET 0"
)
NAMES = tuple(name.strip() for name in COLUMNS.split(","))
PREFIX = "/v1/customers"
JSON_HEADERS = [(b"content-type", b"application/json")]

encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(dict[str, Any]).decode


async def _no_reset(_conn: asyncpg.Connection) -> None:
    return None


class Pg:
    """asyncpg pool, created like Patrons' (same sizes, same no-op reset)."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self.pool = await asyncpg.create_pool(
            dialect.asyncpg_dsn(self.url),
            min_size=self.settings.pg_pool_min,
            max_size=self.settings.pg_pool_max,
            reset=_no_reset,
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        assert self.pool is not None
        row = await self.pool.fetchrow(sql, *args)
        return None if row is None else dict(row)

    async def write(self, sql: str, *args: Any) -> dict[str, Any] | None:
        return await self.one(sql, *args)

    async def many(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        assert self.pool is not None
        return [dict(r) for r in await self.pool.fetch(sql, *args)]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        assert self.pool is not None
        return await self.pool.fetchval(sql, *args)


class Lite:
    """stdlib sqlite3 on the event loop, with Patrons' pragmas; plain tuples, no row factory."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.raw: sqlite3.Connection | None = None

    async def open(self) -> None:
        raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA busy_timeout=5000")
        raw.execute("PRAGMA foreign_keys=ON")
        self.raw = raw

    async def close(self) -> None:
        if self.raw is not None:
            self.raw.close()

    async def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        assert self.raw is not None
        row = self.raw.execute(dialect.sqlite_sql(sql), args).fetchone()
        return None if row is None else dict(zip(NAMES, row, strict=True))

    async def write(self, sql: str, *args: Any) -> dict[str, Any] | None:
        """One statement in autocommit (run to completion, so it commits)."""
        assert self.raw is not None
        rows = self.raw.execute(dialect.sqlite_sql(sql), args).fetchall()
        return dict(zip(NAMES, rows[0], strict=True)) if rows else None

    async def many(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        assert self.raw is not None
        rows = self.raw.execute(dialect.sqlite_sql(sql), args).fetchall()
        return [dict(zip(NAMES, r, strict=True)) for r in rows]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        assert self.raw is not None
        row = self.raw.execute(dialect.sqlite_sql(sql), args).fetchone()
        return None if row is None else row[0]


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(db: Pg | Lite, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await db.open()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await db.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


class Queries:
    """What both front ends run per request: the SQL Patrons runs, on the chosen driver, and
    the answer as plain data (a row dict, or the list body) for the front end to encode."""

    def __init__(self) -> None:
        url = os.environ["BENCH_DATABASE_URL"]
        self.project_id = os.environ["BENCH_PROJECT_ID"]
        self.db: Pg | Lite
        if dialect.kind_of(url) == dialect.SQLITE:
            self.db = Lite(dialect.sqlite_path(url))
        else:
            self.db = Pg(url, Settings.from_env())

    async def get(self, ref: str) -> dict[str, Any] | None:
        sql = GET_SQL if ref.startswith("cust_") else BY_SOURCE_SQL
        return await self.db.one(sql, self.project_id, ref)

    async def put(self, ref: str, body: dict[str, Any]) -> dict[str, Any] | None:
        metadata = encode(body.get("metadata") or {}).decode()
        return await self.db.write(
            UPDATE_SQL, self.project_id, ref, body.get("name"), metadata, now_ms()
        )

    async def create(self, body: dict[str, Any]) -> dict[str, Any] | None:
        address = body.get("address") or {}
        return await self.db.write(
            INSERT_SQL,
            self.project_id,
            customer_id(),
            body.get("source_id"),
            body.get("name"),
            body.get("email"),
            bool(address),
            address.get("city"),
            address.get("country"),
            encode(body.get("metadata") or {}).decode(),
            now_ms(),
        )

    async def page(self, params: dict[str, str]) -> dict[str, Any]:
        limit = int(params.get("limit") or 10)
        args: list[Any] = [self.project_id]
        cursor = ""
        if params.get("starting_after"):
            args.append(parse_datetime_ms(params["starting_after"]))
            cursor = " AND created_at < $2"
        rows = await self.db.many(PAGE_SQL.format(cursor=cursor, limit=limit + 1), *args)
        # The `total`: Patrons' own counter query (its SQL follows the schema).
        total = await repository.live_count(self.db, project_id=self.project_id)  # type: ignore[arg-type]
        return {
            "object": "list",
            "customers": rows[:limit],
            "total": total,
            "has_more": len(rows) > limit,
        }


def create_app() -> Any:
    """The raw ASGI front end (the default baseline)."""
    q = Queries()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(q.db, receive, send)
            return
        path: str = scope["path"]
        method = scope["method"]
        if not path.startswith(PREFIX):
            await _respond(send, 404, b'{"code":404}')
            return
        rest = path[len(PREFIX) :]
        if rest in ("", "/"):
            if method == "POST":
                await _respond(send, 200, encode(await q.create(decode(await _body(receive)))))
            else:
                params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
                await _respond(send, 200, encode(await q.page(params)))
            return
        ref = unquote(rest[1:])
        if method == "PUT":
            row = await q.put(ref, decode(await _body(receive)))
        else:
            row = await q.get(ref)
        if row is None:
            await _respond(send, 404, b'{"code":404}')
            return
        await _respond(send, 200, encode(row))

    return app


def create_starlette_app() -> Any:
    """The baseline issue #16 was measured against: Starlette routes answering with orjson,
    on the same queries (`pip install starlette orjson`; bench/run.py --baseline starlette)."""
    import contextlib

    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    q = Queries()

    def answer(data: Any) -> Response:
        if data is None:
            return Response(b'{"code":404}', status_code=404, media_type="application/json")
        return Response(orjson.dumps(data), media_type="application/json")

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            return answer(await q.create(orjson.loads(await request.body())))
        return answer(await q.page(dict(request.query_params)))

    async def one(request: Request) -> Response:
        ref = request.path_params["ref"]
        if request.method == "PUT":
            return answer(await q.put(ref, orjson.loads(await request.body())))
        return answer(await q.get(ref))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        await q.db.open()
        try:
            yield
        finally:
            await q.db.close()

    return Starlette(
        routes=[
            Route(PREFIX, collection, methods=["GET", "POST"]),
            Route(PREFIX + "/{ref}", one, methods=["GET", "PUT"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--style",
        choices=("raw", "starlette"),
        default="raw",
        help="raw ASGI + msgspec (default), or Starlette + orjson (issue #16's baseline)",
    )
    args = parser.parse_args()
    # granian imports the target in its worker process: make this folder importable there.
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    sys.path.insert(0, here)
    # The same Granian settings as `patrons serve`.
    Granian(
        "baseline_app:create_app" if args.style == "raw" else "baseline_app:create_starlette_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=1,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
