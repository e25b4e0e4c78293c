"""Stall reminders on the time-skipping server: timing, escalation, pause, snooze, restarts."""

from datetime import datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.log import LogChannel
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from activities.playbooks import PlaybookActivities
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from schemas import (
    CollaborationStatus,
    EventKind,
    MilestoneRequest,
    PauseRequest,
    ResumeRequest,
    SlaState,
    SnoozeRequest,
    Stage,
    StageChange,
)
from tests.conftest import WorkerFactory
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.reminders import MAX_REMINDERS_PER_STAGE
from workflows.domain.reminders import reminder_days as scheduled_days

DAY = timedelta(days=1)


def reminder_days(status: CollaborationStatus, started: datetime) -> list[float]:
    """Return the day (since start) of each reminder, rounded to the hour."""
    return [round((e.at - started) / DAY * 24) / 24 for e in status.history if e.kind is EventKind.REMINDER]


async def status_of(env: WorkflowEnvironment, workflow_id: str) -> CollaborationStatus:
    return await env.client.get_workflow_handle(workflow_id).query(CollaborationWorkflow.status)


async def test_two_years_without_progress(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """A silent collaboration is reminded at days 14 and 28, escalated, then ever more rarely.

    Six reminders in two years instead of one every 14 days (52): the schedule of the
    "Reminders" table in docs/operators.md, which `reminder_days` computes.
    """
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(730 * DAY)
        status = await status_of(time_env, workflow_id)
        await abandon(handle)
    expected = [14.0, 28.0, 56.0, 112.0, 224.0, 448.0]
    assert reminder_days(status, started) == expected == scheduled_days(14, 2, 730)
    escalations = [e for e in status.history if e.kind is EventKind.ESCALATION]
    assert len(escalations) == 1 and escalations[0].reminder_number == 2
    assert round((escalations[0].at - started) / DAY) == 28
    assert (status.reminders_sent, status.escalations, status.stalled) == (6, 1, True)
    assert status.sla is SlaState.ESCALATED
    kinds = await pool.fetch(
        "SELECT kind, count(*) AS n FROM milestones WHERE workflow_id = $1 GROUP BY kind", workflow_id
    )
    assert {r["kind"]: r["n"] for r in kinds} == {"started": 1, "reminder": 6, "escalation": 1, "closed": 1}


@pytest.mark.parametrize(
    "stage_days",
    [{}, {"introduction": 1}, {"introduction": 0.0001}],
    ids=["defaults", "one-day", "the-floor"],
)
async def test_a_forgotten_collaboration_gets_at_most_ten_reminders_per_stage(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
    stage_days: dict[str, float],
) -> None:
    """Two years of silence: at most `MAX_REMINDERS_PER_STAGE` (8) reminders, then the owner is
    told once that reminders stopped; the schedule is the documented one."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, stall_after_days=stage_days)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(730 * DAY)
        status = await status_of(time_env, workflow_id)
        await abandon(handle)
    threshold = stage_days.get("introduction", 14)
    days = [
        round((r["occurred_at"] - started) / DAY, 4)
        for r in await pool.fetch(
            "SELECT occurred_at FROM milestones WHERE workflow_id = $1 AND kind = 'reminder' ORDER BY seq",
            workflow_id,
        )
    ]
    expected = scheduled_days(threshold, 2, 730)
    assert days == [round(d, 4) for d in expected] and len(days) <= 10
    stopped = await pool.fetch(
        "SELECT n.recipients FROM notifications n WHERE n.workflow_id = $1 AND n.event = 'reminders_stopped'",
        workflow_id,
    )
    if len(expected) == MAX_REMINDERS_PER_STAGE:
        assert [[r["role"] for r in row["recipients"]] for row in stopped] == [["owner"]]
        assert status.next_reminder_at is None and status.sla is SlaState.ESCALATED
    else:
        assert stopped == []


async def test_progress_resets_the_clock_and_clears_stalled(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """An update restarts the stage's clock; the new stage's threshold applies."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(10 * DAY)
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        await time_env.sleep(20 * DAY)  # day 30: qualification allows 21 days
        quiet = await status_of(time_env, workflow_id)
        await time_env.sleep(2 * DAY)  # day 32: reminded at day 31
        stalled = await status_of(time_env, workflow_id)
        await handle.execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind="call", by="ops")
        )
        after = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert (quiet.reminders_sent, quiet.stalled) == (0, False)
    assert reminder_days(stalled, started) == [31.0]
    assert stalled.stalled and stalled.sla is SlaState.STALLED
    assert (after.stalled, after.reminders_in_stage, after.sla) == (False, 0, SlaState.ON_TRACK)


async def test_a_shorter_threshold_brings_the_reminder_forward(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """The armed timer (day 24) is replaced when a change makes the wake-up earlier (day 7)."""
    thresholds = {"introduction": 30, "qualification": 5}
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, stall_after_days=thresholds)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(2 * DAY)
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        await time_env.sleep(6 * DAY)  # day 8: reminded at day 7, not at day 30
        status = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert reminder_days(status, started) == [7.0]
    assert status.stalled


async def test_pause_stops_the_chase_and_resume_restarts_the_clock(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """No reminder while paused; after resume the full threshold runs again."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(5 * DAY)
        await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by="ops", reason="summer"))
        await time_env.sleep(60 * DAY)
        paused = await status_of(time_env, workflow_id)
        await handle.execute_update(CollaborationWorkflow.resume, ResumeRequest(by="ops"))
        await time_env.sleep(15 * DAY)  # resumed at day 65: reminded at day 79
        resumed = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert (paused.reminders_sent, paused.sla, paused.next_reminder_at) == (0, SlaState.PAUSED, None)
    assert reminder_days(resumed, started) == [79.0]
    kinds = [e.kind for e in resumed.history]
    assert EventKind.PAUSED in kinds and EventKind.RESUMED in kinds


async def test_snooze_pushes_the_next_reminder(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """Snoozed for 30 days at day 15, the 2nd reminder comes at day 45 instead of day 28."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(15 * DAY)
        snoozed = await handle.execute_update(
            CollaborationWorkflow.snooze_reminders, SnoozeRequest(by="ops", days=30)
        )
        await time_env.sleep(31 * DAY)
        status = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert snoozed.stalled, "a snooze is not progress: the collaboration stays stalled"
    assert round((snoozed.next_reminder_at - started) / DAY) == 45
    assert reminder_days(status, started) == [14.0, 45.0]
    assert status.escalations == 1
    assert EventKind.SNOOZED in [e.kind for e in status.history]


async def test_due_soon_in_the_last_fifth_of_the_threshold(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """On track until day 11.2 of 14, then due soon, with the deadline given."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        started = (await status_of(time_env, workflow_id)).history[0].at
        await time_env.sleep(10 * DAY)
        early = await status_of(time_env, workflow_id)
        await time_env.sleep(2 * DAY)
        late = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert early.sla is SlaState.ON_TRACK and late.sla is SlaState.DUE_SOON
    assert late.stall_deadline == started + 14 * DAY


async def test_worker_restart_mid_wait_sends_nothing_twice(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """A new worker picks the timers up: reminders continue, no row or delivery is doubled."""
    first = Worker(  # no sticky cache: the next task must not wait for this worker to come back
        time_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[
            MilestoneActivities(pool).record_events,
            *NotificationActivities(pool, [LogChannel()]).activities(),
            PlaybookActivities(pool).load_playbook,
        ],
        max_cached_workflows=0,
    )
    async with first:
        handle = await start(time_env.client, workflow_id, task_queue)
        await time_env.sleep(20 * DAY)
    async with run_worker(time_env.client):  # a fresh worker replays the history from scratch
        await time_env.sleep(20 * DAY)
        status = await status_of(time_env, workflow_id)
        await abandon(handle)
    assert status.reminders_sent == 2
    rows = await pool.fetchval("SELECT count(*) FROM milestones WHERE workflow_id = $1", workflow_id)
    assert rows == status.entries + 1  # + the closing row
    sends = await pool.fetch(
        "SELECT d.idempotency_key, d.attempts FROM deliveries d JOIN notifications n USING (idempotency_key)"
        " WHERE n.workflow_id = $1 AND n.event = 'reminder'",
        workflow_id,
    )
    assert len(sends) == 2 and all(r["attempts"] == 1 for r in sends)
