"""Planned steps and decision dates on the time-skipping server, with real activities and PostgreSQL.

A planned step keeps a quiet collaboration from being chased until the step is over plus the
grace; a missed step asks the parties what happened, once; a decision date that passes with no
decision tells the owner and the approvers once, then the owner on a schedule that backs off.
"""

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import playbooks as store
from schemas import CollaborationStatus, EventKind, Stage, StageChange
from schemas.playbooks import Playbook
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow

DAY = timedelta(days=1)
ROWS = "SELECT kind, details FROM milestones WHERE workflow_id = $1 ORDER BY seq"
MAIL = """
SELECT event, recipients, context FROM notifications WHERE workflow_id = $1
ORDER BY split_part(idempotency_key, '/', 2)::int
"""
APPROVER = "claire.martin@coalition-next.example"


async def send(handle: WorkflowHandle[Any, Any], name: str, body: dict[str, Any]) -> CollaborationStatus:
    status: CollaborationStatus = await handle.execute_update(name, body, result_type=CollaborationStatus)
    return status


async def kinds(pool: asyncpg.Pool, workflow_id: str) -> list[str]:
    return [r["kind"] for r in await pool.fetch(ROWS, workflow_id)]


async def test_a_planned_step_delays_the_stall_and_a_missed_one_asks_what_happened(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = await handle.query(CollaborationWorkflow.status)
        at = started.stage_since + 20 * DAY
        planned = await send(
            handle, "plan_step", {"kind": "meeting", "at": at.isoformat(), "minutes": 60, "by": "ops"}
        )
        assert [s.id for s in planned.steps] == ["s1"]
        await time_env.sleep(18 * DAY)  # past the 14-day threshold, before the meeting
        quiet = await handle.query(CollaborationWorkflow.status)
        assert not quiet.stalled and quiet.sla.value == "on_track"
        assert EventKind.REMINDER.value not in await kinds(pool, workflow_id)

        await time_env.sleep(5 * DAY)  # the meeting's end plus the 2-day grace passed with no news
        missed = await handle.query(CollaborationWorkflow.status)
        assert missed.steps[0].missed and missed.step_counts.missed == 1
        rows = await kinds(pool, workflow_id)
        assert rows.count(EventKind.STEP_MISSED.value) == 1
        assert EventKind.REMINDER.value not in rows  # one question, not a stall reminder as well
        mails = await pool.fetch(MAIL, workflow_id)
        [question] = [m for m in mails if m["event"] == "step_missed"]
        assert {r["role"] for r in question["recipients"]} == {"corporate", "startup", "owner"}

        await time_env.sleep(15 * DAY)  # a threshold after the question: now the chase goes on
        assert EventKind.REMINDER.value in await kinds(pool, workflow_id)
        held = await send(handle, "step_held", {"step": "s1", "by": "ops", "note": "went well"})
        assert held.steps == [] and held.step_counts.held == 1 and not held.stalled
        await abandon(handle)


async def test_a_decision_date_escalates_once_then_backs_off(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    programme = f"Decisions {uuid.uuid4().hex[:8]}"
    playbook = Playbook(programme=programme, approvers=[APPROVER, "owner"], decision_after_days=30)
    await store.apply(pool, playbook, "test", "test")
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, programme=programme)
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        piloting = await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.PILOT, by="ops")
        )
        assert piloting.decision is not None and piloting.decision.set_by == "playbook"
        assert piloting.decision.on == (piloting.stage_since + 30 * DAY).date()
        # The pilot's threshold is 45 days; the decision is due after 31, then 2, 4, 8 thresholds on.
        await time_env.sleep(32 * DAY)
        late = await handle.query(CollaborationWorkflow.status)
        assert late.decision_overdue and late.decision is not None and late.decision.reminders == 1
        await time_env.sleep(200 * DAY)
        rows = [r for r in await pool.fetch(ROWS, workflow_id) if r["kind"] == "decision_overdue"]
        assert [r["details"]["escalation"] for r in rows] == [True, False]  # day 31, then 31 + 90
        mails = [m for m in await pool.fetch(MAIL, workflow_id) if m["event"] == "decision_overdue"]
        told = [sorted(r["email"] for r in m["recipients"]) for m in mails]
        owner = EXAMPLE["owner_email"]
        assert told == [sorted([APPROVER, owner]), [owner]]
        decided = await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.EVALUATION, by="ops")
        )
        assert decided.decision_overdue  # evaluation is no decision yet
        await abandon(handle)
