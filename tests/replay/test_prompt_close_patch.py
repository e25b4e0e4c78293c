"""The prompt-close patch: runs that waited for their deliveries replay, new ones hand them off.

`histories/before-prompt-close/` was recorded when a closing run waited for every delivery and a
continue-as-new gave them ten seconds, with a channel down through both: today's code replays it,
and the same change without `workflow.patched` breaks it; the goldens replay too. A run begun
before asks `prompt-close` only when it closes or continues-as-new with deliveries under way. A new run records `settled-0.4` alone, which
settles this patch too; with its channels up, its deliveries end before the closing grace, and no
child is needed (tests/integration/test_closing.py hands them to one with a channel down).
"""

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import Run, fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from schemas import Closure, Outcome, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.integration.test_webhook_notifications import Receiver, channel
from tests.integration.test_webhook_notifications import receiver as receiver
from tests.replay.patching.prompt_close_unguarded import UnguardedPromptCloseWorkflow
from tests.replay.test_golden import golden_folders
from tests.replay.test_patch_registry import markers
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow
from workflows.patches import PROMPT_CLOSE, SETTLED_04


async def test_the_goldens_replay_today(settings: Settings) -> None:
    """Their channels were up: no run of theirs met a delivery still under way after its grace."""
    for folder in golden_folders():
        runs = read_export(folder)
        assert PROMPT_CLOSE.id not in markers(runs)
        today = await replay_runs(runs, settings, jobs=1)
        assert all(o.passed for o in today), (folder.name, [o.error for o in today if not o.passed])


async def test_a_new_run_records_one_marker_and_completes_once_its_deliveries_are_done(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """With its channel up, a closing run's deliveries end within the grace: no child needed."""
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        await abandon(handle)
    history = await handle.fetch_history()
    assert markers([Run(workflow_id, "", history)]) == {SETTLED_04.id: False}, "one marker, as before"
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


BEFORE = Path(__file__).parent / "histories" / "before-prompt-close" / "channel-down"


async def test_a_run_that_waited_for_a_channel_down_replays_only_with_the_guard(settings: Settings) -> None:
    """Recorded before the change: a webhook down through a continue-as-new (its ten-second grace
    runs out) and through the closing, which waited until the hook came back. Today's code
    replays it; unguarded, the short grace lets go of the deliveries and meets what it never saw."""
    runs = read_export(BEFORE)
    assert len(runs) >= 2 and PROMPT_CLOSE.id not in markers(runs)
    today = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in today), [o.error for o in today if not o.passed]
    unguarded = await replay_runs(runs, settings, jobs=1, workflows=[UnguardedPromptCloseWorkflow])
    assert any(o.nondeterministic for o in unguarded), [o.error for o in unguarded]


@pytest.mark.skipif(
    not os.environ.get("PASSERELLE_RECORD_PROMPT_CLOSE"), reason="set PASSERELLE_RECORD_PROMPT_CLOSE=1"
)
async def test_record_a_run_that_waits_for_a_channel_down(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    clear_settings: Settings,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Record `BEFORE` (on demand, by the code before the change), in clear."""
    target, url = receiver
    target.script = [503] * 5 + [200]  # down for about thirty seconds per notification
    clear = Client(
        dev_env.client.service_client, namespace="default", data_converter=converter_for(clear_settings)
    )
    async with run_worker(clear, channels=[channel(url, secret=None)]):
        await start(clear, workflow_id, task_queue, continue_as_new_after_events=20)
        latest = clear.get_workflow_handle(workflow_id)
        for stage in (Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION):
            await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        for _ in range(120):
            if len(await fetch_chain(clear, workflow_id)) > 1:
                break
            await asyncio.sleep(0.5)
        await latest.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        await asyncio.wait_for(latest.result(), 240)
    shutil.rmtree(BEFORE, ignore_errors=True)
    write_export(await fetch_chain(clear, workflow_id), BEFORE, "default")
