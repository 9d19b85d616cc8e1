"""The CAMPAIGN.VOUCHERS_GENERATE job: a campaign's `vouchers_count` codes, one chunk at a time.

A chunk is "the next N codes to draw" rather than payload rows: the payload holds only the
job's parameters, and the checkpoint counts codes. The worker commits each chunk's vouchers
with that checkpoint under its lease, so a killed worker never loses or doubles a chunk. Codes
are unique per project by the (project_id, code) key; a collision just draws again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patrons.async_actions.handlers import Applied, Chunk, Job, Summary, Totals, read_spec
from patrons.db.database import Conn, Database, Row
from patrons.redeemables import repository
from patrons.redeemables.campaigns import GENERATE
from patrons.redeemables.vouchers import draw_from_campaign, template_of

DRAWS_PER_CODE = 5  # random draws allowed per wanted code before the row counts as failed


@dataclass(frozen=True, slots=True)
class Draws:
    campaign: Row | None  # None: the campaign is gone, and every code still wanted fails
    count: int


async def _campaign(db: Database | Conn, job: Job) -> tuple[Row | None, int]:
    """The job's campaign (if it still exists) and how many codes the job makes in all."""
    spec: dict[str, Any] = await read_spec(db, job)
    campaign = await repository.get_campaign(
        db, project_id=job.project_id, ref=spec.get("campaign_id", "")
    )
    return campaign, int(spec.get("count", 0))


class GenerateVouchers:
    type = GENERATE

    async def read_chunk(self, db: Database, job: Job, *, max_rows: int) -> Chunk[Draws]:
        campaign, count = await _campaign(db, job)
        if campaign is None:
            todo, rows_done = count - job.rows_done, count
        else:
            todo = max(0, min(max_rows, count - job.rows_done))
            rows_done = job.rows_done + todo
        return Chunk(
            work=Draws(campaign, todo),
            failures=[],
            bytes_done=0,
            rows_done=rows_done,
            progress=min(99, rows_done * 100 // max(count, 1)),
            last=rows_done >= count,
        )

    async def apply(self, conn: Conn, job: Job, chunk: Chunk[Draws], *, now: int) -> Applied:
        campaign, todo = chunk.work.campaign, chunk.work.count
        if campaign is None:
            return Applied(done=0, failed=todo)
        template = template_of(campaign)
        made = draws = 0
        while made < todo and draws < todo * DRAWS_PER_CODE:
            draws += 1
            if await draw_from_campaign(
                conn, project_id=job.project_id, campaign=campaign, template=template, now=now
            ):
                made += 1
        return Applied(done=made, created=made, failed=todo - made)

    async def summarise(self, conn: Conn, job: Job, totals: Totals, *, now: int) -> Summary:
        campaign, _count = await _campaign(conn, job)
        if campaign is None:
            message = "The campaign no longer exists."
        else:
            message = f"{totals.done} voucher(s) generated, {totals.failed} failed."
            await repository.set_generation(
                conn,
                project_id=job.project_id,
                campaign_id=campaign["id"],
                status="DONE" if not totals.failed else "FAILED",
                action_id=None,
                now=now,
            )
        return Summary(
            {"message": message, "done_count": totals.done, "failed_count": totals.failed},
            "SUCCESS" if not totals.failed else "FAILED",
        )
