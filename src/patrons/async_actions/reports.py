"""Failed-row reports: the full list of a job's failed rows as a CSV file behind a token URL.

A finished job's result lists at most `handlers.REPORTED_FAILURES` failed rows; the report
has them all (`async_action_failure`, read in pages, streamed). Its URL is Voucherify's
`reports: [url]`: a path carrying a random token, stored only inside the job's result, and
made absolute with the host the client used when the action is read. The download needs no
API keys (the token is the key, as with Voucherify's report links) and ends at
`reports_available_till`.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from msgspec import Raw

from patrons.async_actions import repository
from patrons.async_actions.schemas import AsyncAction
from patrons.core.clock import now_ms, parse_datetime_ms
from patrons.core.errors import NotFound
from patrons.db.database import Database

PREFIX = "/reports/async-actions"
KEPT_MS = 7 * 86_400_000  # `reports_available_till`: a week after the job finished
_PAGE = 5000  # failed rows per read while streaming
COLUMNS = ("row", "source_id", "reason")


def new_report(project_id: str, action_id: str) -> str:
    """A fresh report path (relative; see `with_base_url`) with its random token."""
    return f"{PREFIX}/{project_id}/{action_id}?token={secrets.token_urlsafe(24)}"


def with_base_url(action: AsyncAction, base_url: str) -> AsyncAction:
    """The action with its report paths made absolute (`http://host/reports/…`)."""
    if not isinstance(action.result, Raw) or b'"reports"' not in bytes(action.result):
        return action
    result: dict[str, Any] = msgspec.json.decode(bytes(action.result))
    reports = result.get("reports")
    if isinstance(reports, list):
        base = base_url.rstrip("/")
        result["reports"] = [
            base + r if isinstance(r, str) and r.startswith(PREFIX) else r for r in reports
        ]
        action.result = Raw(msgspec.json.encode(result))
    return action


async def _checked(db: Database, *, project_id: str, action_id: str, token: str) -> None:
    """404 unless `token` is this finished action's report token and the report is kept."""
    row = await repository.get(db, project_id=project_id, action_id=action_id)
    result: Any = msgspec.json.decode(row["result"]) if row is not None and row["result"] else {}
    reports = result.get("reports") if isinstance(result, dict) else None
    expected = f"{PREFIX}/{project_id}/{action_id}?token={token}"
    known = isinstance(reports, list) and any(
        isinstance(r, str) and secrets.compare_digest(r.encode(), expected.encode())
        for r in reports
    )
    till = result.get("reports_available_till") if known else None
    if not known or not isinstance(till, str) or parse_datetime_ms(till) < now_ms():
        raise NotFound("report", action_id)


async def stream(
    db: Database, *, project_id: str, action_id: str, token: str
) -> AsyncIterator[bytes]:
    """The report CSV in pieces; raises NotFound before the first piece for a bad token."""
    await _checked(db, project_id=project_id, action_id=action_id, token=token)
    return _rows(db, project_id=project_id, action_id=action_id)


async def _rows(db: Database, *, project_id: str, action_id: str) -> AsyncIterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    after = 0
    while True:
        page = await repository.failures_after(
            db, project_id=project_id, action_id=action_id, after_row=after, limit=_PAGE
        )
        for row in page:
            writer.writerow((row["row_no"], row["source_id"] or "", row["reason"]))
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
        if len(page) < _PAGE:
            return
        after = page[-1]["row_no"]
