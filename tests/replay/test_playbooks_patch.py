"""The playbooks patch: collaborations begun before playbooks replay, and new ones read theirs.

The committed goldens were recorded before the change: today's code replays them (test_golden.py),
and the same change without `workflow.patched` breaks them. A new run (under `settled-0.3`, which
applies this patch without its own marker) reads its programme's playbook through the
`load_playbook` activity before it records its start.
"""

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory
from tests.replay.patching.playbooks_unguarded import UnguardedPlaybooksWorkflow
from tests.replay.test_golden import GOLDEN
from tests.workflows.helpers import abandon, start
from workflows.activity_names import LOAD_PLAYBOOK
from workflows.patches import PLAYBOOKS, SETTLED_04


async def test_histories_from_before_playbooks_replay_only_with_the_guard(settings: Settings) -> None:
    runs = read_export(GOLDEN / "full-lifecycle")
    assert PLAYBOOKS.id.encode() not in b"".join(e.SerializeToString() for r in runs for e in r.events)
    today = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in today), [o.error for o in today if not o.passed]
    unguarded = await replay_runs(runs, settings, jobs=1, workflows=[UnguardedPlaybooksWorkflow])
    assert any(o.nondeterministic for o in unguarded), [o.error for o in unguarded]


async def test_a_new_run_marks_the_patch_and_reads_its_playbook_first(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        await abandon(handle)
    events = (await handle.fetch_history()).events
    marker = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert [SETTLED_04.id.encode() in e.SerializeToString() for e in marker] == [True]
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert activities[0] == LOAD_PLAYBOOK and activities[1] == "record_events"
