"""Record milestone rows and keep the `collaborations` projection current.

Idempotent by construction: a row is keyed by `(collaboration_id, seq)`, where `seq` is fixed by
workflow history, and inserted with `ON CONFLICT DO NOTHING`; the projection only moves forward
(`last_seq` grows). A retried activity, even one that failed after its commit, writes nothing twice.
`occurred_at` is the workflow's time carried in the entry, never the activity's clock;
`effective_at` is when an imported event really happened (NULL for live ones).
"""

import asyncpg
import structlog
from temporalio import activity

from schemas import EventRecord
from workflows.activity_names import RECORD_EVENTS

log = structlog.get_logger()

UPSERT_PROJECTION = """
INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,
    topic, stage, stage_since, outcome, stalled, paused, started_at, updated_at, last_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (collaboration_id) DO UPDATE SET
    stage = EXCLUDED.stage, stage_since = EXCLUDED.stage_since, outcome = EXCLUDED.outcome,
    stalled = EXCLUDED.stalled, paused = EXCLUDED.paused, updated_at = EXCLUDED.updated_at,
    last_seq = EXCLUDED.last_seq
WHERE collaborations.last_seq < EXCLUDED.last_seq
"""

INSERT_MILESTONE = """
INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, to_stage, outcome,
    milestone, actor, note, evidence_url, reminder_number, occurred_at, effective_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (collaboration_id, seq) DO NOTHING
"""


class MilestoneActivities:
    """Activities that write a collaboration's records to PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=RECORD_EVENTS)
    async def record_events(self, record: EventRecord) -> int:
        """Write the change's milestone rows and projection in one transaction; return rows added."""
        p = record.projection
        last_seq = max(e.seq for e in record.entries)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                UPSERT_PROJECTION,
                p.collaboration_id,
                p.workflow_id,
                p.corporate,
                p.startup,
                p.programme,
                p.sector,
                p.topic,
                p.stage.value,
                p.stage_since,
                p.outcome.value if p.outcome else None,
                p.stalled,
                p.paused,
                p.started_at,
                p.updated_at,
                last_seq,
            )
            added = 0
            for e in record.entries:
                status = await conn.execute(
                    INSERT_MILESTONE,
                    p.collaboration_id,
                    e.seq,
                    p.workflow_id,
                    record.run_id,
                    e.kind.value,
                    e.stage.value,
                    e.to_stage.value if e.to_stage else None,
                    e.outcome.value if e.outcome else None,
                    e.milestone,
                    e.actor,
                    e.note,
                    e.evidence_url,
                    e.reminder_number,
                    e.at,
                    e.effective_at,
                )
                added += int(status.rsplit(" ", 1)[-1])
        log.info(
            "events recorded",
            kinds=[e.kind.value for e in record.entries],
            last_seq=last_seq,
            added=added,
            stage=p.stage.value,
        )
        return added
