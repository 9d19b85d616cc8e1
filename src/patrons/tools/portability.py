"""Reset, export and import one project, table by table, driven by the schema (db.tables).

- `reset`: erase all the project's data in one transaction; the project, its App keys and
  OAuth tokens stay, so clients keep working against an empty project.
- `export`: every table's rows of the project as JSON lines — a header line (format, schema
  revision, project id), one `{"table": …, "row": {…}}` line per row (tables parents first,
  rows in primary-key order, read in keyset pages so memory stays flat), and an end line with
  the row counts (a truncated file is refused on import).
- `import_`: the file into a database at the same schema revision, in one transaction, with
  the same ids (App keys keep working: only token hashes are stored). SQLite and PostgreSQL
  files are alike: booleans are JSON booleans, binary columns base64, JSON columns their text.

A new table is picked up by all three without a change here; `KEPT_BY_RESET` names the tables
a reset leaves alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import sqlalchemy as sa

from patrons.core.clock import now_ms
from patrons.db import migrate, tables
from patrons.db.database import Conn, Database, Row
from patrons.projects import repository as projects
from patrons.tools import portability_repository as repository

FORMAT = "patrons-project"
VERSION = 1
PAGE_ROWS = 1000
# Credentials survive a reset: the project stays usable with the keys its clients hold.
KEPT_BY_RESET = frozenset({"project", "api_key", "oauth_token"})
# Parents first (the schema's foreign keys), and `project`, `api_key` before every other table:
# an import checks the project and its keys before it writes any data.
# Derived tables (`info={"derived": True}`: kept by database triggers from other tables, e.g.
# customer_day_count) are left out: the triggers rebuild them as the rows go in or out.
TABLES: tuple[sa.Table, ...] = tuple(
    sorted(
        (t for t in tables.metadata.sorted_tables if not t.info.get("derived")),
        key=lambda t: (t.name != "project", t.name != "api_key"),
    )
)
BY_NAME = {t.name: t for t in TABLES}
Progress = Callable[[int], None]


class ToolError(Exception):
    """A refusal with a message for the operator (no traceback)."""


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.Boolean):
        return "bool"
    if isinstance(column.type, sa.LargeBinary):
        return "bytes"
    if column.type is tables.Json or column.type is tables.JsonText:  # TEXT on SQLite
        return "json"
    return "plain"


KINDS = {t.name: {c.name: _kind(c) for c in t.columns} for t in TABLES}


def _out(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a driver that decodes JSON itself
    return value


def _in(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a hand-edited file may inline objects
    return value


async def _require_project(db: Database | Conn, project_id: str) -> Row:
    row = await projects.get_project(db, project_id=project_id)
    if row is None:
        raise ToolError(f"no project {project_id}")
    return row


async def reset(db: Database, *, project_id: str) -> dict[str, int]:
    """Erase the project's data (keeping the project and its keys); rows deleted per table."""
    async with db.transaction() as conn:
        await _require_project(conn, project_id)
        deleted: dict[str, int] = {}
        for table in reversed(TABLES):
            if table.name not in KEPT_BY_RESET:
                deleted[table.name] = await repository.delete_rows(
                    conn, project_id=project_id, table=table
                )
    return deleted


async def count(db: Database, *, project_id: str) -> dict[str, int]:
    """The project's rows per table."""
    return {t.name: await repository.count_rows(db, project_id=project_id, table=t) for t in TABLES}


def _line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


async def export(
    db: Database, *, project_id: str, out: TextIO, progress: Progress | None = None
) -> dict[str, int]:
    """Write the project to `out` as JSON lines; rows written per table."""
    await _require_project(db, project_id)
    out.write(
        _line(
            {
                "format": FORMAT,
                "version": VERSION,
                "schema": await migrate.current_revision(db),
                "project_id": project_id,
                "exported_at": now_ms(),
            }
        )
    )
    written: dict[str, int] = {}
    for table in TABLES:
        kinds = KINDS[table.name]
        names = [c.name for c in table.columns]
        after: list[Any] | None = None
        n = 0
        while True:
            rows, after = await repository.fetch_page(
                db, project_id=project_id, table=table, after=after, limit=PAGE_ROWS
            )
            for row in rows:
                values = {name: _out(kinds[name], row[i]) for i, name in enumerate(names)}
                out.write(_line({"table": table.name, "row": values}))
            n += len(rows)
            if progress is not None and rows:
                progress(len(rows))
            if after is None:
                break
        written[table.name] = n
    out.write(_line({"end": True, "rows": written}))
    return written


def _header(line: str | None) -> dict[str, Any]:
    try:
        header = json.loads(line or "")
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ToolError("not a Patrons project export (the first line is not its header)")
    if header.get("version") != VERSION:
        raise ToolError(f"export format version {header.get('version')} is not {VERSION}")
    return header


async def _make_room(conn: Conn, project_id: str, *, replace: bool) -> None:
    if await projects.get_project(conn, project_id=project_id) is None:
        return
    if not replace:
        raise ToolError(f"project {project_id} already exists here (--replace erases it first)")
    for table in reversed(TABLES):
        await repository.delete_rows(conn, project_id=project_id, table=table)


async def _check_key_free(conn: Conn, app_id: str) -> None:
    key = await projects.get_key(conn, app_id=app_id)
    if key is not None:
        raise ToolError(f"App ID {app_id} belongs to project {key['project_id']} here")


class _Batches:
    """Rows gathered per (table, columns) and inserted PAGE_ROWS at a time."""

    def __init__(self, conn: Conn, project_id: str, progress: Progress | None) -> None:
        self.conn, self.project_id, self.progress = conn, project_id, progress
        self.key: tuple[str, tuple[str, ...]] | None = None
        self.rows: list[list[Any]] = []
        self.counts: dict[str, int] = {}

    async def add(self, table: str, row: dict[str, Any]) -> None:
        key = (table, tuple(row))
        if key != self.key or len(self.rows) >= PAGE_ROWS:
            await self.flush()
            self.key = key
        kinds = KINDS[table]
        self.rows.append([_in(kinds[name], value) for name, value in row.items()])

    async def flush(self) -> None:
        if self.key is None or not self.rows:
            return
        table, columns = self.key
        await repository.insert_rows(
            self.conn,
            project_id=self.project_id,
            table=BY_NAME[table],
            columns=columns,
            rows=self.rows,
        )
        self.counts[table] = self.counts.get(table, 0) + len(self.rows)
        if self.progress is not None:
            self.progress(len(self.rows))
        self.rows = []


def _parse(number: int, line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ToolError(f"line {number}: not JSON ({exc})") from None
    if not isinstance(item, dict):
        raise ToolError(f"line {number}: not an object")
    return item


def _checked_row(number: int, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    table, row = item.get("table"), item.get("row")
    if table not in KINDS or not isinstance(row, dict):
        raise ToolError(f"line {number}: unknown table {table!r}")
    unknown = sorted(set(row) - set(KINDS[table]))
    if unknown:
        raise ToolError(f"line {number}: {table} has no column {', '.join(unknown)}")
    return table, row


async def import_(
    db: Database, *, source: Iterable[str], replace: bool = False, progress: Progress | None = None
) -> tuple[str, dict[str, int]]:
    """Load an export into this database in one transaction; (project id, rows per table).

    The project keeps its id and keys. It must not exist here yet (`replace`: erase it first),
    and its App IDs must be free. A project exported as the default stays the default only
    where the database has none.
    """
    lines = iter(source)
    header = _header(next(lines, None))
    project_id = header.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise ToolError("the export's header names no project")
    here = await migrate.current_revision(db)
    if header.get("schema") != here:
        raise ToolError(
            f"the export is at schema {header.get('schema')}, this database at {here}:"
            " upgrade both to the same Patrons version first"
        )
    async with db.transaction() as conn:
        batches = _Batches(conn, project_id, progress)
        ended = False
        prepared = False
        for number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            if ended:
                raise ToolError(f"line {number}: data after the end line")
            item = _parse(number, line)
            if item.get("end") is True:
                ended = True
                continue
            table, row = _checked_row(number, item)
            if not prepared:
                # The export writes `project` then `api_key` first: check room once, up front.
                if table != "project":
                    raise ToolError(f"line {number}: the project row must come first")
                prepared = True
                await _make_room(conn, project_id, replace=replace)
                default = await projects.get_default_project(conn)
                if row.get("is_default") and default is not None:
                    row = {**row, "is_default": False}
            elif table == "api_key" and isinstance(row.get("app_id"), str):
                await _check_key_free(conn, row["app_id"])
            await batches.add(table, row)
        await batches.flush()
        if not ended:
            raise ToolError("the export ends early (no end line): nothing was imported")
        if not prepared:
            raise ToolError("the export holds no project row: nothing was imported")
    return project_id, batches.counts
