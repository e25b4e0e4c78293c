"""The settled patch: a new run records one patch marker, and every older history still replays.

Each marker costs a run a marker event and, from the SDK, an upsert of `TemporalChangeVersion`
(a visibility write). A run begun now asks `settled-0.3` first; with it, the patches before it
apply without markers of their own. A run begun by an earlier release has no such marker, so it
asks each earlier patch as it did when it was recorded: the goldens and the step-one histories
replay (test_golden.py, test_patch_registry.py), and the same change without the guard breaks
them. `histories/settled/` holds the scenarios recorded with the marker:

    PASSERELLE_RECORD_SETTLED=1 .venv/bin/pytest tests/replay/test_settled_patch.py -k record
"""

import os
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import Run, fetch_chain, read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory
from tests.replay.patching.settled_unguarded import UnguardedSettledWorkflow
from tests.replay.scenarios import SCENARIOS, full_lifecycle
from tests.replay.test_golden import golden_folders, record_scenario
from tests.replay.test_patch_registry import STEP_ONE, markers
from workflows import patches
from workflows.activity_names import LOAD_PLAYBOOK

SETTLED = Path(__file__).parent / "histories" / "settled"
# The digest has no patch of the collaboration's: its goldens stand for it. The planned-steps
# scenario is newer than `settled-0.4`: its golden is recorded with that marker and stands for it
# (test_planned_steps_patch.py).
COLLABORATION_SCENARIOS = sorted(name for name in SCENARIOS if name not in ("digest", "planned-steps"))


def change_version_upserts(runs: list[Run]) -> int:
    """Return how many search-attribute upserts of the runs set `TemporalChangeVersion`."""
    return sum(
        1
        for run in runs
        for e in run.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and "TemporalChangeVersion"
        in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    )


def test_each_collaboration_scenario_is_recorded_with_the_marker() -> None:
    assert sorted(p.name for p in SETTLED.iterdir()) == COLLABORATION_SCENARIOS
    for folder in SETTLED.iterdir():
        runs = read_export(folder)
        assert markers(runs) == {patches.SETTLED.id: False}, folder.name
        assert change_version_upserts(runs) == len(runs), folder.name  # one per run


@pytest.mark.parametrize("folder", sorted(SETTLED.iterdir()), ids=lambda p: p.name)
async def test_settled_histories_replay(folder: Path, settings: Settings) -> None:
    outcomes = await replay_runs(read_export(folder), settings, jobs=1)
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]


async def test_older_histories_replay_only_with_the_guard(settings: Settings) -> None:
    """Without the marker, today's code asks the older patches; settled regardless, it breaks."""
    older = [f for f in golden_folders() if f.name in COLLABORATION_SCENARIOS] + sorted(STEP_ONE.iterdir())
    for folder in older:
        runs = read_export(folder)
        assert patches.SETTLED.id not in markers(runs)
        today = await replay_runs(runs, settings, jobs=1)
        assert all(o.passed for o in today), (folder, [o.error for o in today if not o.passed])
    unguarded = await replay_runs(
        read_export(golden_folders()[0]), settings, jobs=1, workflows=[UnguardedSettledWorkflow]
    )
    assert any(o.nondeterministic for o in unguarded), [o.error for o in unguarded]


async def test_a_new_run_records_one_marker_and_takes_every_settled_branch(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    settings: Settings,
) -> None:
    """One marker and one `TemporalChangeVersion` upsert; the playbook read first, the memo kept."""
    client = time_env.client
    async with run_worker(client):
        await full_lifecycle(time_env, workflow_id, task_queue)
    runs = await fetch_chain(client, workflow_id)
    assert markers(runs) == {patches.SETTLED_04.id: False}  # which settles this patch too
    assert change_version_upserts(runs) == 1
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in runs[0].events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled[:2] == [LOAD_PLAYBOOK, "record_events"]  # playbooks applies
    assert "deliver" in scheduled and "notify" not in scheduled  # bounded life applies: by key
    memo = await (await client.get_workflow_handle(workflow_id).describe()).memo()
    assert memo == {"collaboration_id": runs[0].run_id}
    (outcome,) = await replay_runs(runs, settings, jobs=1)
    assert outcome.passed, outcome.error


@pytest.mark.skipif(not os.environ.get("PASSERELLE_RECORD_SETTLED"), reason="set PASSERELLE_RECORD_SETTLED=1")
@pytest.mark.parametrize("name", COLLABORATION_SCENARIOS)
async def test_record_settled_history(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    name: str,
    clear_settings: Settings,
) -> None:
    """Record a scenario's chain of runs with today's code, in clear (on demand only)."""
    await record_scenario(time_env, run_worker, task_queue, name, clear_settings, SETTLED / name)
