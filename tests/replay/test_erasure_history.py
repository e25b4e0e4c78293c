"""An erasure recorded by the release before the exact matching rule still replays.

`erase_contact` now replaces the whole address only (`schemas.addresses`) where it replaced any
occurrence, in a neighbour's address too. That changes what the state holds, not which commands a
run issues, so it needs no `workflow.patched`: this history, recorded by the earlier code (a
running collaboration whose notes name the erased address and a neighbour, erased, re-keyed,
continued-as-new, then closed), replays on today's code. Record it again (only to leave the
earlier rule behind) with:

    PASSERELLE_RECORD_ERASURE=1 .venv/bin/pytest tests/replay/test_erasure_history.py -k record
"""

import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.log import LogChannel
from activities.data_keys import DataKeyActivities
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from activities.playbooks import PlaybookActivities
from passerelle.audit.histories import fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.client import converter_for, store_for
from passerelle.platform.programmes import Namespaces
from passerelle.platform.settings import Settings
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from schemas import Closure, MilestoneRequest, Outcome
from schemas.privacy import ContactErasure
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

HISTORY = Path(__file__).parent / "histories" / "before-exact-addresses" / "erasure"
ADDRESS = "ana@nabla.example"


async def test_an_erasure_recorded_before_the_exact_rule_replays(settings: Settings) -> None:
    runs = read_export(HISTORY)
    assert len(runs) == 2, "the erasure's run and the run it continued as, under the new key"
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]


@pytest.mark.skipif(not os.environ.get("PASSERELLE_RECORD_ERASURE"), reason="set PASSERELLE_RECORD_ERASURE=1")
async def test_record_the_erasure_history(
    time_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    settings: Settings,
    clear_settings: Settings,
) -> None:
    """Record the erasure on today's code, in clear (the goldens' reasons: test_golden.py)."""
    config = time_env.client.config()
    clear = Client(**{**config, "data_converter": converter_for(clear_settings)})
    store = store_for(settings)  # the worker's key store: the new key must be the one it activates
    assert store is not None
    workflow_id = "before-exact-addresses-erasure"
    # A clear client's worker has no key activities (it seals nothing): this one has them, with
    # the key store the erasure prepares its key in.
    keys = DataKeyActivities(pool, store, Namespaces().chain_programme)
    notifications = NotificationActivities(pool, [LogChannel()], ())
    activities = [
        MilestoneActivities(pool).record_events,
        PlaybookActivities(pool).load_playbook,
        notifications.deliver,
        notifications.notify,
        keys.activate_data_key,
        keys.destroy_data_keys,
    ]
    worker = Worker(
        clear,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        workflow_runner=workflow_runner(),
    )
    async with worker:
        handle = await start(
            clear, workflow_id, task_queue, startup={"name": "Nabla", "contact_email": ADDRESS}
        )
        await handle.execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind="call", by="ops", note=f"Ask {ADDRESS} and di{ADDRESS} for the deck"),
        )
        erasure = ContactErasure(
            email=ADDRESS,
            pseudonym="erased:0123456789ab",
            replacement="partners@nabla.example",
            by="dpo",
            reason="GDPR 42",
            next_key=await store.prepare(workflow_id),
        )
        await handle.execute_update(CollaborationWorkflow.erase_contact, erasure)
        latest = clear.get_workflow_handle(workflow_id)
        while len(await fetch_chain(clear, workflow_id)) < 2:
            await time_env.sleep(1)
        await latest.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        await latest.result()
    runs = await fetch_chain(clear, workflow_id)
    shutil.rmtree(HISTORY, ignore_errors=True)
    write_export(runs, HISTORY, "default")
