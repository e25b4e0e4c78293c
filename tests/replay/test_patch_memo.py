"""`workflow.patched` in practice: the collaboration-id memo, added while collaborations run.

A lifecycle is recorded with the code from before the change (`patching/step_1_before.py`); it
replays against today's patched code and fails against the same change made without the patch
(`patching/step_2_unguarded.py`). New runs record the patch marker and the memo, and replay too.
Recording the old history here, rather than committing it, keeps the test true as the workflow
evolves in other ways.
"""

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.log import LogChannel
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from passerelle.audit.histories import Run, fetch_chain
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from passerelle.platform.worker import workflow_runner
from tests.conftest import WorkerFactory
from tests.replay.patching.step_1_before import BeforeMemoWorkflow
from tests.replay.patching.step_2_unguarded import UnguardedMemoWorkflow
from tests.replay.scenarios import declined

PATCH_EVENTS = {EventType.EVENT_TYPE_MARKER_RECORDED, EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED}


async def record_before_the_patch(
    env: WorkflowEnvironment, pool: asyncpg.Pool, workflow_id: str, task_queue: str
) -> list[Run]:
    """Run a declined lifecycle on a worker with the pre-change code; return its history."""
    records, notifications = MilestoneActivities(pool), NotificationActivities(pool, [LogChannel()])
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[BeforeMemoWorkflow],
        workflow_runner=workflow_runner(strict=True),
        activities=[records.record_events, *notifications.activities()],
    ):
        await declined(env, workflow_id, task_queue)
    return await fetch_chain(env.client, workflow_id)


async def test_history_from_before_the_patch_replays_only_with_the_patch(
    time_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, workflow_id: str, settings: Settings
) -> None:
    """The old history replays on today's code; the same change without the patch breaks it."""
    runs = await record_before_the_patch(time_env, pool, workflow_id, task_queue)
    assert not [e for run in runs for e in run.events if e.event_type in PATCH_EVENTS], "recorded before"
    (today,) = await replay_runs(runs, settings, jobs=1)
    assert today.passed, today.error
    (unguarded,) = await replay_runs(runs, settings, jobs=1, workflows=[UnguardedMemoWorkflow])
    assert unguarded.nondeterministic, unguarded.error


async def test_new_runs_record_the_patch_and_show_the_collaboration_id(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    settings: Settings,
) -> None:
    """A collaboration started now carries the marker and the memo, and replays."""
    async with run_worker(time_env.client):
        await declined(time_env, workflow_id, task_queue)
    runs = await fetch_chain(time_env.client, workflow_id)
    assert PATCH_EVENTS <= {e.event_type for e in runs[0].events}
    memo = await (await time_env.client.get_workflow_handle(workflow_id).describe()).memo()
    assert memo == {"collaboration_id": runs[0].run_id}
    (outcome,) = await replay_runs(runs, settings, jobs=1)
    assert outcome.passed, outcome.error
