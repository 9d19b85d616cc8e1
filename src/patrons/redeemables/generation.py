"""The CAMPAIGN.VOUCHERS_GENERATE job: a campaign's `vouchers_count` codes, one chunk at a time.

Runs in the worker like the customer jobs: each chunk's vouchers and its checkpoint commit in
one transaction that first re-checks the lease, so a killed worker never loses or doubles a
chunk. Codes are unique per project by the (project_id, code) key; a collision just draws again.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from patrons.async_actions import repository as jobs
from patrons.async_actions.service import encode_result
from patrons.core.clock import now_ms
from patrons.db.database import Database, Row
from patrons.redeemables import repository
from patrons.redeemables.campaigns import GENERATE
from patrons.redeemables.vouchers import draw_from_campaign, template_of

log = logging.getLogger("patrons.worker")
TYPES = frozenset({GENERATE})
DRAWS_PER_CODE = 5  # random draws allowed per wanted code before the row counts as failed


async def run_chunk(db: Database, job: Row, *, owner: str, chunk_rows: int) -> None:
    project_id, action_id = job["project_id"], job["id"]
    piece = await jobs.payload_piece(db, project_id=project_id, action_id=action_id, seq=0)
    spec: dict[str, Any] = msgspec.json.decode(piece or b"{}")
    campaign = await repository.get_campaign(
        db, project_id=project_id, ref=spec.get("campaign_id", "")
    )
    count = int(spec.get("count", 0))
    done_before = job["rows_done"]
    todo = max(0, min(chunk_rows, count - done_before))
    async with db.transaction() as conn:
        if not await jobs.hold_lease(conn, project_id=project_id, action_id=action_id, owner=owner):
            return
        now = now_ms()
        made = 0
        if campaign is not None:
            template = template_of(campaign)
            draws = 0
            while made < todo and draws < todo * DRAWS_PER_CODE:
                draws += 1
                if await draw_from_campaign(
                    conn, project_id=project_id, campaign=campaign, template=template, now=now
                ):
                    made += 1
        failed = todo - made if campaign is not None else count - done_before
        rows_done = done_before + todo if campaign is not None else count
        await jobs.checkpoint(
            conn,
            project_id=project_id,
            action_id=action_id,
            bytes_done=0,
            rows_done=rows_done,
            done=made,
            failed=failed,
            created=made,
            progress=min(99, rows_done * 100 // max(count, 1)),
            now=now,
        )
        if rows_done >= count:
            row = await jobs.get(conn, project_id=project_id, action_id=action_id)
            done, failures = row["done_count"], row["failed_count"]
            message = (
                f"{done} voucher(s) generated, {failures} failed."
                if campaign is not None
                else "The campaign no longer exists."
            )
            await jobs.finish(
                conn,
                project_id=project_id,
                action_id=action_id,
                status="DONE",
                operation_status="SUCCESS" if not failures else "FAILED",
                result=encode_result(
                    {"message": message, "done_count": done, "failed_count": failures}
                ),
                now=now,
            )
            await jobs.delete_payload(conn, project_id=project_id, action_id=action_id)
            if campaign is not None:
                await repository.set_generation(
                    conn,
                    project_id=project_id,
                    campaign_id=campaign["id"],
                    status="DONE" if not failures else "FAILED",
                    action_id=None,
                    now=now,
                )
    log.info("job %s (%s): %d voucher(s) generated", action_id, GENERATE, made)
