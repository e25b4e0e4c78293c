"""Records in PostgreSQL from a real dev server: one row per event, idempotent, projection in step."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.log import LogChannel
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from activities.playbooks import PlaybookActivities
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from schemas import (
    Closure,
    CollaborationStatus,
    EventKind,
    EventRecord,
    HistoryEntry,
    MilestoneRequest,
    Outcome,
    Projection,
    Stage,
    StageChange,
)
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from workflows.activity_names import RECORD_EVENTS
from workflows.collaboration import CollaborationWorkflow

TRICKY_NOTE = 'O\'Reilly said "go"; DROP TABLE milestones; -- $1 %s \\x00 é ✓'
ROWS = """
SELECT seq, kind, stage, to_stage, outcome, milestone, actor, note, occurred_at
FROM milestones WHERE workflow_id = $1 ORDER BY seq
"""


async def lifecycle(client: Client, workflow_id: str, task_queue: str) -> CollaborationStatus:
    handle = await start(client, workflow_id, task_queue)
    for stage in (Stage.QUALIFICATION, Stage.PILOT):
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=stage, by="ops", note=TRICKY_NOTE)
        )
    await handle.execute_update(
        CollaborationWorkflow.record_milestone, MilestoneRequest(kind="pilot kick-off", by="o'brien")
    )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
    )
    return await handle.result()


def assert_rows_match_history(rows: list[asyncpg.Record], status: CollaborationStatus) -> None:
    assert [r["seq"] for r in rows] == [e.seq for e in status.history]
    for row, entry in zip(rows, status.history, strict=True):
        assert row["kind"] == entry.kind.value
        assert row["stage"] == entry.stage.value
        assert row["to_stage"] == (entry.to_stage.value if entry.to_stage else None)
        assert row["actor"] == entry.actor and row["note"] == entry.note
        assert row["occurred_at"] == entry.at  # the workflow's time, not the activity's


async def test_lifecycle_leaves_one_row_per_event_in_order(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """started, 2 stage changes, 1 milestone, closed: five rows, in order, verbatim."""
    async with run_worker(dev_env.client):
        status = await lifecycle(dev_env.client, workflow_id, task_queue)
    rows = await pool.fetch(ROWS, workflow_id)
    assert [r["kind"] for r in rows] == ["started", "stage_changed", "stage_changed", "milestone", "closed"]
    assert_rows_match_history(rows, status)
    assert rows[1]["note"] == TRICKY_NOTE
    assert await pool.fetchval("SELECT count(*) FROM milestones") > 0, "the table survived the note"


async def test_projection_matches_status(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """The collaborations row says what the status query says."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        status = await handle.query(CollaborationWorkflow.status)
        row = await pool.fetchrow("SELECT * FROM collaborations WHERE workflow_id = $1", workflow_id)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="x")
        )
        final = await handle.result()
        closed = await pool.fetchrow("SELECT * FROM collaborations WHERE workflow_id = $1", workflow_id)
    assert (row["stage"], row["stalled"], row["paused"], row["outcome"]) == (
        "qualification",
        False,
        False,
        None,
    )
    assert row["collaboration_id"] == status.collaboration_id
    assert row["stage_since"] == status.stage_since
    assert (row["corporate"], row["startup"], row["programme"]) == (
        status.corporate,
        status.startup,
        status.programme,
    )
    assert (closed["outcome"], closed["last_seq"]) == ("abandoned", final.history[-1].seq)


class FailingAfterCommit(MilestoneActivities):
    """Writes its rows, then fails its first attempt: as if the worker died after the commit."""

    failed: set[str] = set()

    @activity.defn(name=RECORD_EVENTS)
    async def record_events(self, record: EventRecord) -> int:
        added = await super().record_events(record)
        key = f"{record.projection.collaboration_id}/{record.entries[0].seq}"
        if key not in self.failed:
            self.failed.add(key)
            raise RuntimeError("simulated crash after commit")
        return added


async def test_retry_after_commit_writes_nothing_twice(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, workflow_id: str
) -> None:
    """Every record activity fails once after its insert; the retries add no duplicate."""
    records = FailingAfterCommit(pool)
    notifications = NotificationActivities(pool, [LogChannel()])
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[
            records.record_events,
            *notifications.activities(),
            PlaybookActivities(pool).load_playbook,
        ],
    ):
        status = await lifecycle(dev_env.client, workflow_id, task_queue)
    rows = await pool.fetch(ROWS, workflow_id)
    assert len(records.failed) == 5, "each of the five records failed once"
    assert len(rows) == 5
    assert_rows_match_history(rows, status)


async def test_second_start_for_a_running_pair_is_refused(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """The same workflow id cannot start twice while the first runs."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        with pytest.raises(WorkflowAlreadyStartedError):
            await start(dev_env.client, workflow_id, task_queue)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="x")
        )
        await handle.result()


async def test_one_entry_and_many_entries_write_the_same_rows(pool: asyncpg.Pool) -> None:
    """The single-entry statement and the array statement store identical rows, each once."""
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    entries = [
        HistoryEntry(seq=1, kind=EventKind.STARTED, at=at, stage=Stage.INTRODUCTION, actor="ops"),
        HistoryEntry(
            seq=2,
            kind=EventKind.REMINDER,
            at=at + timedelta(days=14),
            stage=Stage.INTRODUCTION,
            actor="system",
            reminder_number=1,
            note=TRICKY_NOTE,
        ),
        HistoryEntry(
            seq=3,
            kind=EventKind.MILESTONE,
            at=at + timedelta(days=15),
            stage=Stage.INTRODUCTION,
            actor="o'brien",
            milestone="NDA signed",
            evidence_url="https://docs.example/nda",
        ),
    ]

    def record(cid: str, batch: list[HistoryEntry]) -> EventRecord:
        projection = Projection(
            collaboration_id=cid,
            workflow_id=f"wf-{cid}",
            corporate="Natixis",
            startup="Nabla",
            programme="FTCC",
            sector="health",
            topic="t",
            stage=Stage.INTRODUCTION,
            stage_since=at,
            outcome=None,
            stalled=False,
            paused=False,
            started_at=at,
            updated_at=batch[-1].at,
        )
        return EventRecord(run_id="run-1", entries=batch, projection=projection)

    activities = MilestoneActivities(pool)
    added_one_by_one = [await activities.record_events(record("one-by-one", [e])) for e in entries]
    added_at_once = await activities.record_events(record("at-once", entries))
    again = await activities.record_events(record("at-once", entries))
    again_one = await activities.record_events(record("one-by-one", entries[-1:]))
    query = """SELECT seq, kind, stage, to_stage, outcome, milestone, actor, note, evidence_url,
        reminder_number, occurred_at, effective_at, run_id FROM milestones
        WHERE collaboration_id = $1 ORDER BY seq"""
    one_by_one = [dict(r) for r in await pool.fetch(query, "one-by-one")]
    at_once = [dict(r) for r in await pool.fetch(query, "at-once")]
    assert (added_one_by_one, added_at_once, again, again_one) == ([1, 1, 1], 3, 0, 0)
    assert one_by_one == at_once and len(at_once) == 3
    assert at_once[1]["note"] == TRICKY_NOTE and at_once[2]["evidence_url"] == "https://docs.example/nda"
    assert (
        await pool.fetchval("SELECT last_seq FROM collaborations WHERE collaboration_id = 'one-by-one'") == 3
    )
