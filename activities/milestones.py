"""Record milestone rows and keep the `collaborations` projection current.

Idempotent by construction: a row is keyed by `(collaboration_id, seq)`, where `seq` is fixed by
workflow history, and inserted with `ON CONFLICT DO NOTHING`; the projection only moves forward
(`last_seq` grows). A retried activity, even one that failed after its commit, writes nothing twice.
`occurred_at` is the workflow's time carried in the entry, never the activity's clock;
`effective_at` is when an imported event really happened (NULL for live ones).
"""

import json
from typing import Any

import asyncpg
import structlog
from temporalio import activity

from schemas import EventRecord, HistoryEntry, Projection
from workflows.activity_names import RECORD_EVENTS

log = structlog.get_logger()

UPSERT_PROJECTION = """
INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,
    topic, stage, stage_since, outcome, stalled, paused, started_at, updated_at, last_seq,
    corporate_email, startup_email, startup_label, owner_email, language, namespace,
    next_step_at, next_step_kind, decision_on, decision_overdue)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
    $22, $23, $24, coalesce($25::boolean, false))
ON CONFLICT (collaboration_id) DO UPDATE SET
    stage = EXCLUDED.stage, stage_since = EXCLUDED.stage_since, outcome = EXCLUDED.outcome,
    stalled = EXCLUDED.stalled, paused = EXCLUDED.paused, updated_at = EXCLUDED.updated_at,
    last_seq = EXCLUDED.last_seq,
    corporate_email = coalesce(EXCLUDED.corporate_email, collaborations.corporate_email),
    startup_email = coalesce(EXCLUDED.startup_email, collaborations.startup_email),
    startup_label = CASE WHEN EXCLUDED.language IS NULL THEN collaborations.startup_label
                         ELSE EXCLUDED.startup_label END,
    owner_email = coalesce(EXCLUDED.owner_email, collaborations.owner_email),
    language = coalesce(EXCLUDED.language, collaborations.language),
    next_step_at = CASE WHEN $25::boolean IS NULL THEN collaborations.next_step_at
                        ELSE EXCLUDED.next_step_at END,
    next_step_kind = CASE WHEN $25::boolean IS NULL THEN collaborations.next_step_kind
                          ELSE EXCLUDED.next_step_kind END,
    decision_on = CASE WHEN $25::boolean IS NULL THEN collaborations.decision_on
                       ELSE EXCLUDED.decision_on END,
    decision_overdue = coalesce($25::boolean, collaborations.decision_overdue)
WHERE collaborations.last_seq < EXCLUDED.last_seq
"""

MILESTONE_COLUMNS = """collaboration_id, seq, workflow_id, run_id, kind, stage, to_stage, outcome,
    milestone, actor, note, evidence_url, reminder_number, occurred_at, effective_at, details"""

# The outbox rows of the change's notifications, as arrays (usually none or one): they enter with
# the milestone rows, so a notification exists exactly when its event does. The JSON columns come
# as text: a list of recipients would otherwise read as one more array dimension.
OUTBOX = """outbox AS (
    INSERT INTO notifications (idempotency_key, collaboration_id, workflow_id, event, language,
        recipients, context)
    SELECT n.key, $1, $2, n.event, n.language, n.recipients::jsonb, n.context::jsonb
    FROM unnest($39::text[], $40::text[], $41::text[], $42::text[], $43::text[])
        AS n(key, event, language, recipients, context)
    ON CONFLICT (idempotency_key) DO NOTHING
)"""

# The projection, the outbox and every row of a change in ONE statement, so one round-trip (no
# BEGIN/COMMIT): a statement is atomic, and the foreign key sees the projection the CTE inserts
# (checked at the end of the statement). The rows come as arrays, one per column, one element per
# entry.
RECORD = f"""
WITH projection AS ({UPSERT_PROJECTION.strip()}), {OUTBOX}
INSERT INTO milestones ({MILESTONE_COLUMNS})
SELECT $1, e.seq, $2, $26, e.kind, e.stage, e.to_stage, e.outcome, e.milestone, e.actor, e.note,
    e.evidence_url, e.reminder_number, e.occurred_at, e.effective_at, e.details::jsonb
FROM unnest($27::integer[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[],
    $33::text[], $34::text[], $35::text[], $36::integer[], $37::timestamptz[], $38::timestamptz[],
    $44::text[])
    AS e(seq, kind, stage, to_stage, outcome, milestone, actor, note, evidence_url, reminder_number,
    occurred_at, effective_at, details)
ON CONFLICT (collaboration_id, seq) DO NOTHING
"""
# The same for the usual change of one entry, with plain parameters in the same places: arrays
# cost more to encode and unnest than the row itself (bench/milestone.py).
RECORD_ONE = f"""
WITH projection AS ({UPSERT_PROJECTION.strip()}), {OUTBOX}
INSERT INTO milestones ({MILESTONE_COLUMNS})
VALUES ($1, $27, $2, $26, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $44::text::jsonb)
ON CONFLICT (collaboration_id, seq) DO NOTHING
"""


def projection_args(p: Projection, last_seq: int, namespace: str) -> list[Any]:
    """Return the `UPSERT_PROJECTION` arguments ($1 to $25) of a projection in `namespace`.

    The contacts ($16 to $20) may be NULL: a record scheduled by an earlier worker has none, and
    the row keeps its own. A row keeps the namespace ($21) it was first recorded in. The planned
    step and the decision date follow ($22 to $25); `decision_overdue` NULL says the record has
    none of the four (an earlier worker's), and the row keeps its own."""
    return [
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
        p.corporate_email,
        p.startup_email,
        p.startup_label,
        p.owner_email,
        p.language,
        namespace,
        p.next_step_at,
        p.next_step_kind.value if p.next_step_kind else None,
        p.decision_on,
        p.decision_overdue,
    ]


# The columns an entry fills, besides its collaboration, workflow and run, in the order of the
# arrays and parameters of `RECORD` and `RECORD_ONE`; `details` comes apart ($44), as JSON text.
ENTRY_COLUMNS = ("seq", "kind", "stage", "to_stage", "outcome", "milestone", "actor", "note",
                 "evidence_url", "reminder_number", "occurred_at", "effective_at")  # fmt: skip


def milestone_row(e: HistoryEntry) -> dict[str, Any]:
    """Return the milestone columns a history entry fills (`details` as a JSON object).

    The one mapping of an entry to its row: `record_events` writes it and `passerelle audit
    verify` expects it, so the two cannot disagree on what a recorded event looks like.
    """
    return {
        "seq": e.seq,
        "kind": e.kind.value,
        "stage": e.stage.value,
        "to_stage": e.to_stage.value if e.to_stage else None,
        "outcome": e.outcome.value if e.outcome else None,
        "milestone": e.milestone,
        "actor": e.actor,
        "note": e.note,
        "evidence_url": e.evidence_url,
        "reminder_number": e.reminder_number,
        "occurred_at": e.at,
        "effective_at": e.effective_at,
        "details": e.details,
    }


def _namespace() -> str:
    """Return the namespace of the workflow whose records these are ('' outside an activity)."""
    return (activity.info().workflow_namespace or "") if activity.in_activity() else ""


class MilestoneActivities:
    """Activities that write a collaboration's records to PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=RECORD_EVENTS)
    async def record_events(self, record: EventRecord) -> int:
        """Write the change's milestone rows and projection in one statement; return rows added."""
        p = record.projection
        last_seq = max(e.seq for e in record.entries)
        entries = [milestone_row(e) for e in record.entries]
        columns: list[list[Any]] = [[row[c] for row in entries] for c in ENTRY_COLUMNS]
        details = [None if row["details"] is None else json.dumps(row["details"]) for row in entries]
        one = len(entries) == 1
        rows: list[Any] = [c[0] for c in columns] if one else columns
        notes = record.notifications
        outbox = [
            [n.key for n in notes],
            [n.event.value for n in notes],
            [n.language for n in notes],
            [json.dumps([r.model_dump(mode="json") for r in n.recipients]) for n in notes],
            [json.dumps(n.context) for n in notes],
        ]
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                RECORD_ONE if one else RECORD,
                *projection_args(p, last_seq, _namespace()),
                record.run_id,
                *rows,
                *outbox,
                details[0] if one else details,
            )
        added = int(status.rsplit(" ", 1)[-1])
        log.info(
            "events recorded",
            kinds=[e.kind.value for e in record.entries],
            last_seq=last_seq,
            added=added,
            stage=p.stage.value,
        )
        return added
