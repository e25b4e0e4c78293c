"""`workflow.patched` in practice: the collaboration-id memo, added while collaborations run.

The golden histories were recorded before the change. They replay against the patched code, and
fail against the same change made without the patch; new runs record the patch marker and the memo.
"""

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain, read_export
from passerelle.audit.replay import replay_runs
from tests.conftest import WorkerFactory
from tests.replay.scenarios import declined
from tests.replay.unguarded_memo import UnguardedMemoWorkflow

# A copy kept apart from golden/, which re-recording overwrites: it must stay pre-patch for good.
BEFORE_PATCH = Path(__file__).parent / "pre-patch" / "memo-collaboration-id"
PATCH_EVENTS = {EventType.EVENT_TYPE_MARKER_RECORDED, EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED}


async def test_history_from_before_the_patch_replays_on_patched_code() -> None:
    """A declined lifecycle recorded without the memo replays on today's code: the patch keeps it valid."""
    runs = read_export(BEFORE_PATCH)
    assert not [e for run in runs for e in run.events if e.event_type in PATCH_EVENTS], "recorded before"
    (outcome,) = await replay_runs(runs, jobs=1)
    assert outcome.passed, outcome.error


async def test_same_change_without_the_patch_breaks_old_histories() -> None:
    """Made without `workflow.patched`, the memo is a command the old history never saw."""
    (outcome,) = await replay_runs(read_export(BEFORE_PATCH), jobs=1, workflows=[UnguardedMemoWorkflow])
    assert outcome.nondeterministic, outcome.error


async def test_new_runs_record_the_patch_and_show_the_collaboration_id(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A collaboration started now carries the marker and the memo, and replays."""
    async with run_worker(time_env.client):
        await declined(time_env, workflow_id, task_queue)
    runs = await fetch_chain(time_env.client, workflow_id)
    types = {e.event_type for e in runs[0].events}
    assert PATCH_EVENTS <= types
    memo = await (await time_env.client.get_workflow_handle(workflow_id).describe()).memo()
    assert memo == {"collaboration_id": runs[0].run_id}
    (outcome,) = await replay_runs(runs, jobs=1)
    assert outcome.passed, outcome.error
