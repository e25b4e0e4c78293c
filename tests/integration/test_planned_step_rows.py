"""The collaborations row's planned step and decision date (migrations/0015_planned_steps.sql).

A real workflow plans, reschedules and holds steps and sets a decision date already past: the row
follows each record. Through the record activity: a record of an earlier worker (no step fields)
leaves the row's values, and one of this worker clears a step that is gone.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.milestones import MilestoneActivities
from schemas import Closure, EventKind, EventRecord, HistoryEntry, Outcome, Projection, Stage
from schemas.steps import DecisionDate, PlanStep, RescheduleStep, StepHeld, StepKind
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

ROW = """SELECT next_step_at, next_step_kind, decision_on, decision_overdue
FROM collaborations WHERE workflow_id = $1"""


async def row_of(pool: asyncpg.Pool, workflow_id: str, until: Any = None) -> tuple[Any, ...]:
    """Return the row's four values, once it is there (and `until` holds, for a timer's record)."""
    for _ in range(100):
        found = await pool.fetchrow(ROW, workflow_id)
        if found is not None and (until is None or until(tuple(found))):
            return tuple(found)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no such row of {workflow_id} within 10 s")


async def update(handle: WorkflowHandle[Any, Any], name: str, request: Any) -> None:
    await handle.execute_update(name, request)


async def test_the_row_follows_the_workflows_steps_and_decision_date(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """The soonest step not held is the row's; a decision date already past is overdue at once,
    and no longer once the collaboration is closed."""
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    later = soon + timedelta(days=7)
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        started = await row_of(pool, workflow_id)
        await update(handle, "plan_step", PlanStep(kind=StepKind.DEMO, at=later, by="ops"))
        await update(handle, "plan_step", PlanStep(kind=StepKind.MEETING, at=soon, by="ops"))
        two_planned = await row_of(pool, workflow_id)
        await update(
            handle, "reschedule_step", RescheduleStep(step="s2", at=later + timedelta(days=1), by="ops")
        )
        postponed = await row_of(pool, workflow_id)
        await update(handle, "step_held", StepHeld(step="s1", by="ops"))
        await update(handle, "step_held", StepHeld(step="s2", by="ops"))
        none_left = await row_of(pool, workflow_id)
        past = datetime.now(UTC).date() - timedelta(days=2)
        await update(handle, "set_decision_date", DecisionDate(on=past, by="ops"))
        # Its timer is due at once: the overdue entry follows in a moment.
        overdue = await row_of(pool, workflow_id, until=lambda row: row[3])
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
        )
        await handle.result()
        closed = await row_of(pool, workflow_id)
    assert started == (None, None, None, False)
    assert two_planned == (soon, "meeting", None, False)
    assert postponed == (later, "demo", None, False)  # the meeting moved after the demo
    assert none_left == (None, None, None, False)
    assert overdue == (None, None, past, True)
    assert closed == (None, None, past, False)


def _record(cid: str, seq: int, **steps: Any) -> EventRecord:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC) + timedelta(days=seq)
    projection = Projection(
        collaboration_id=cid,
        workflow_id=f"wf-{cid}",
        corporate="Natixis",
        startup="Nabla",
        programme="FTCC",
        sector="health",
        topic="t",
        stage=Stage.PILOT,
        stage_since=at,
        outcome=None,
        stalled=False,
        paused=False,
        started_at=at,
        updated_at=at,
        **steps,
    )
    entry = HistoryEntry(
        seq=seq, kind=EventKind.MILESTONE, at=at, stage=Stage.PILOT, actor="ops", milestone="m"
    )
    return EventRecord(run_id="run-1", entries=[entry], projection=projection)


async def test_an_earlier_workers_record_leaves_the_rows_step_and_date(pool: asyncpg.Pool) -> None:
    """A record without the four fields keeps the row's; one with them sets them, even to none."""
    cid, records = f"steps-{uuid.uuid4()}", MilestoneActivities(pool)
    at = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    step = {"next_step_at": at, "next_step_kind": StepKind.DECISION, "decision_on": date(2026, 4, 2)}
    await records.record_events(_record(cid, 1, **step, decision_overdue=True))
    written = await row_of(pool, f"wf-{cid}")
    await records.record_events(_record(cid, 2))  # an earlier worker's: no step fields
    kept = await row_of(pool, f"wf-{cid}")
    await records.record_events(_record(cid, 3, decision_overdue=False))  # none left, not overdue
    cleared = await row_of(pool, f"wf-{cid}")
    assert written == kept == (at, "decision", date(2026, 4, 2), True)
    assert cleared == (None, None, None, False)


async def test_a_first_record_of_an_earlier_worker_writes_a_row_not_overdue(pool: asyncpg.Pool) -> None:
    """No decision field in the collaboration's first record: its row is not overdue (NOT NULL)."""
    cid = f"steps-{uuid.uuid4()}"
    await MilestoneActivities(pool).record_events(_record(cid, 1))
    assert await row_of(pool, f"wf-{cid}") == (None, None, None, False)
