"""Milestone write: the `record_events` activity body against raw asyncpg on the same database.

Four writers of one `stage_changed` row, interleaved call by call (A, B, C, D, A…), each on
the worker's pool: the activity body (the `record_events` coroutine called as a worker calls it,
structlog line included), the same through the SDK's `ActivityEnvironment` test harness (its own
context set-up on top), a raw insert of the same milestone row (the baseline), and raw
asyncpg doing the same work as the activity (row and `collaborations` projection in one
transaction), to tell the price of the projection from the price of Passerelle's code.
"""

import time
import uuid
from datetime import UTC, datetime

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.milestones import UPSERT_PROJECTION, MilestoneActivities, projection_args
from bench.common import Report, database, postgres, summary
from schemas import EventKind, EventRecord, HistoryEntry, Projection, Stage

# The baseline: one milestone row, inserted as plainly as asyncpg allows.
INSERT_MILESTONE = """
INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, to_stage, outcome,
    milestone, actor, note, evidence_url, reminder_number, occurred_at, effective_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (collaboration_id, seq) DO NOTHING
"""


def make_record(collaboration_id: str, seq: int) -> EventRecord:
    """Return the record of stage change number `seq` of a collaboration."""
    now = datetime.now(UTC)
    entry = HistoryEntry(
        seq=seq,
        kind=EventKind.STAGE_CHANGED,
        at=now,
        stage=Stage.INTRODUCTION,
        actor="bench",
        note="call held",
        to_stage=Stage.QUALIFICATION,
    )
    projection = Projection(
        collaboration_id=collaboration_id,
        workflow_id="collab-bench",
        corporate="Natixis",
        startup="Nabla",
        programme="FTCC",
        sector="health",
        topic="bench",
        stage=Stage.QUALIFICATION,
        stage_since=now,
        outcome=None,
        stalled=False,
        paused=False,
        started_at=now,
        updated_at=now,
    )
    return EventRecord(run_id=str(uuid.uuid4()), entries=[entry], projection=projection)


def row_args(record: EventRecord) -> list[object]:
    """Return the INSERT_MILESTONE arguments of the record's entry."""
    p, e = record.projection, record.entries[0]
    return [
        p.collaboration_id,
        e.seq,
        p.workflow_id,
        record.run_id,
        e.kind.value,
        e.stage.value,
        e.to_stage.value if e.to_stage else None,
        None,
        None,
        e.actor,
        e.note,
        None,
        None,
        e.at,
        e.effective_at,
    ]


async def raw_row(pool: asyncpg.Pool, record: EventRecord) -> None:
    """Insert the milestone row alone."""
    async with pool.acquire() as conn:
        await conn.execute(INSERT_MILESTONE, *row_args(record))


async def raw_same_work(pool: asyncpg.Pool, record: EventRecord) -> None:
    """Do what the activity does, by hand: projection and row in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            UPSERT_PROJECTION, *projection_args(record.projection, record.entries[0].seq, "default")
        )
        await conn.execute(INSERT_MILESTONE, *row_args(record))


async def run(n: int = 2000) -> Report:
    """Write `n` rows with each writer, interleaved; report latency and throughput."""
    report = Report("milestone", {"n": n, "mode": "sequential, interleaved"})
    env = ActivityEnvironment()
    with postgres() as url:
        async with database(url) as pool:
            activity = MilestoneActivities(pool)
            writers = {
                "activity": lambda r: activity.record_events(r),
                "activity_in_test_harness": lambda r: env.run(activity.record_events, r),
                "raw_row": lambda r: raw_row(pool, r),
                "raw_same_work": lambda r: raw_same_work(pool, r),
            }
            samples: dict[str, list[float]] = {k: [] for k in writers}
            ids = {k: str(uuid.uuid4()) for k in writers}
            for name in writers:  # each writer records into a collaboration of its own
                await raw_same_work(pool, make_record(ids[name], 1))
            for i in range(n + 50):
                for name, write in writers.items():
                    record = make_record(ids[name], i + 2)
                    began = time.perf_counter()
                    await write(record)
                    if i >= 50:  # the first 50 of each warm the pool and the plans
                        samples[name].append(time.perf_counter() - began)
    for name, values in samples.items():
        report.values[name] = {**summary(values), "rows_per_s": round(len(values) / sum(values), 1)}
    median = {k: report.values[k]["median_ms"] for k in writers}
    report.values["ratio_activity_over_raw_row"] = round(median["activity"] / median["raw_row"], 3)
    report.values["ratio_activity_over_raw_same_work"] = round(
        median["activity"] / median["raw_same_work"], 3
    )
    report.target(
        "milestone latency (activity/raw row)", median["activity"] / median["raw_row"], 1.2, at_least=False
    )
    return report
