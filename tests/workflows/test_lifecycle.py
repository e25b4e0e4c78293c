"""The collaboration lifecycle on the time-skipping server, with real activities and PostgreSQL."""

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas import Closure, EventKind, MilestoneRequest, Outcome, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.workflows.helpers import abandon, event_types, latest_status, start
from workflows.collaboration import CollaborationWorkflow

FORWARD = [Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT]


async def test_full_lifecycle_ends_deployed(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """Start → every stage → milestones → deployed; the result tells the whole story."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        for stage in FORWARD:
            status = await handle.execute_update(
                CollaborationWorkflow.advance, StageChange(to=stage, by="ops@programme.example")
            )
            assert status.stage is stage
            await handle.execute_update(
                CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"{stage}-review", by="ops")
            )
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DEPLOYED, by="ops", reason="in production")
        )
        result = await handle.result()
    assert result.outcome is Outcome.DEPLOYED
    assert [e.to_stage for e in result.stage_changes] == FORWARD
    assert [e.milestone for e in result.milestones] == [f"{s}-review" for s in FORWARD]
    kinds = [e.kind for e in result.history]
    assert kinds[0] is EventKind.STARTED and kinds[-1] is EventKind.CLOSED
    assert [e.seq for e in result.history] == list(range(1, len(result.history) + 1))


async def test_declined_from_pilot(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """Any stage may end as declined; the workflow completes with that outcome."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        for stage in (Stage.QUALIFICATION, Stage.PILOT):
            await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="budget cut")
        )
        result = await handle.result()
    assert (result.stage, result.outcome) == (Stage.PILOT, Outcome.DECLINED)


async def test_evaluation_back_to_pilot_and_again(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A pilot can be re-run: evaluation → pilot → evaluation is recorded in order."""
    path = [Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.PILOT, Stage.EVALUATION]
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        for stage in path:
            await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        status = await handle.query(CollaborationWorkflow.status)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="silence")
        )
        await handle.result()  # let its activities finish: the test server skips no time meanwhile
    assert [e.to_stage for e in status.stage_changes] == path


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], Stage.DEPLOYMENT, "qualification, declined, abandoned"),
        ([Stage.QUALIFICATION], Stage.INTRODUCTION, "pilot, declined, abandoned"),
        ([Stage.QUALIFICATION, Stage.PILOT], Stage.PILOT, "evaluation, declined, abandoned"),
    ],
)
async def test_illegal_advance_is_rejected_before_history(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    path: list[Stage],
    target: Stage,
    allowed: str,
) -> None:
    """The validator refuses the move, lists the allowed ones, and nothing enters history.

    Runs on the dev server: the time-skipping test server stops skipping time after a rejected
    update, which would stall the tests that follow it.
    """
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        for stage in path:
            await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        before = await event_types(handle)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=target, by="ops"))
        assert isinstance(info.value.cause, ApplicationError)
        assert (info.value.cause.type, info.value.cause.non_retryable) == ("IllegalMove", True)
        assert (
            f"allowed from {(path or [Stage.INTRODUCTION])[-1].value}: {allowed}" in info.value.cause.message
        )
        after = await event_types(handle)
        assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" not in after[len(before) :]
        assert after.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == len(path)
        await abandon(handle)


async def test_deployed_refused_before_deployment(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """`close deployed` from introduction is refused, listing the allowed closures."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(
                CollaborationWorkflow.close, Closure(outcome=Outcome.DEPLOYED, by="ops", reason="x")
            )
        assert "cannot close as deployed from introduction" in str(info.value.cause)
        await abandon(handle)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"owner_email": "nobody"}, ["owner_email: value is not a valid email address"]),
        (
            {"topic": None, "stall_after_days": {"incubation": 3}},
            ["topic:", "stall_after_days key: Input should be 'introduction'"],
        ),
        ({"corporate": {"name": "X"}}, ["corporate.contact_email: Field required"]),
    ],
)
async def test_invalid_start_fails_fast_naming_each_field(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    changes: dict,
    named: list[str],
) -> None:
    """Bad input fails the workflow (not its task) within seconds, naming each bad field."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, **changes)
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), timeout=10)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidCollaborationRequest" and cause.non_retryable
    for text in named:
        assert text in cause.message
    types = await event_types(handle)
    assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" not in types


async def test_continue_as_new_keeps_stages_milestones_and_counters(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A small history limit forces continue-as-new; the new run carries the whole state."""
    async with run_worker(time_env.client):
        handle = await start(
            time_env.client,
            workflow_id,
            task_queue,
            continue_as_new_after_events=20,
            stall_after_days={"qualification": 1},
        )
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        await time_env.sleep(timedelta(days=2.5))  # two reminders and an escalation
        latest = time_env.client.get_workflow_handle(workflow_id)  # follows the chain of runs
        for i in range(6):
            await latest.execute_update(
                CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"m{i}", by="ops")
            )
        status = await latest_status(time_env.client, workflow_id)  # CAN may be under way
        description = await latest.describe()
        await abandon(latest)
    assert description.run_id != handle.first_execution_run_id
    assert status.runs >= 2, "the history limit must have forced at least one continue-as-new"
    assert [e.to_stage for e in status.stage_changes] == [Stage.QUALIFICATION]
    assert [e.milestone for e in status.milestones] == [f"m{i}" for i in range(6)]
    assert status.reminders_sent == 2 and status.escalations == 1
    kept = [e.seq for e in status.history]  # the latest entries, none missing between them
    assert kept == list(range(status.entries - len(kept) + 1, status.entries + 1))
