"""Scale-out: two `passerelle worker` processes share a task queue; one is SIGKILLed mid-run.

The compose topology in miniature: a real Temporal dev server, PostgreSQL with the compose roles
(workers connect as the rows-only role), and workers configured by environment only.
"""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.db import migrate
from passerelle.platform.settings import Settings
from schemas import Closure, CollaborationStatus, MilestoneRequest, Outcome, Stage, StageChange
from tests.conftest import keys_in
from tests.integration.processes import WorkerProcess, wait_for_pollers, worker_env
from tests.integration.roles import create_roles
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

COLLABORATIONS = 50
ROWS_EACH = 5  # started, 2 stage changes, 1 milestone, closed
ROWS = "SELECT seq, kind, stage, actor, note, occurred_at FROM milestones WHERE workflow_id = $1 ORDER BY seq"
STARTED = {EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED}


async def lifecycle(client: Client, workflow_id: str, task_queue: str) -> CollaborationStatus:
    startup = {"name": workflow_id, "contact_email": "founders@startup.example"}
    handle = await start(client, workflow_id, task_queue, startup=startup)
    for stage in (Stage.QUALIFICATION, Stage.PILOT):
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=stage, by="ops", note=stage.value)
        )
    await handle.execute_update(
        CollaborationWorkflow.record_milestone, MilestoneRequest(kind="pilot kick-off", by="ops")
    )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
    )
    return await handle.result()


async def worker_identities(client: Client, workflow_id: str) -> set[str]:
    """Return the identities of the workers that took this workflow's tasks."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    identities = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            identities.add(event.workflow_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            identities.add(event.activity_task_started_event_attributes.identity)
    return identities


@pytest.mark.timeout(300)
async def test_collaborations_survive_a_killed_worker(
    dev_env: WorkflowEnvironment, postgres_url: str, settings: Settings, task_queue: str, tmp_path: Path
) -> None:
    """50 collaborations on 2 worker processes; one SIGKILLed mid-run; all complete, rows exact."""
    roles = create_roles(postgres_url)
    await migrate(roles.owner, worker_role=roles.worker_role)
    client = keys_in(dev_env.client, settings, roles.owner)  # the data keys the workers read
    env = worker_env(client, roles.worker, task_queue)
    doomed, survivor = (WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in ("a", "b"))
    pool = await asyncpg.create_pool(roles.superuser, min_size=1, max_size=2)
    try:
        await wait_for_pollers(client, task_queue, [doomed, survivor])
        ids = [f"collab-scale-{task_queue}-{n}" for n in range(COLLABORATIONS)]
        runs = [asyncio.create_task(lifecycle(client, wid, task_queue)) for wid in ids]
        while await pool.fetchval("SELECT count(*) FROM milestones") < COLLABORATIONS * ROWS_EACH * 0.3:
            failed = [r.exception() for r in runs if r.done() and r.exception()]
            assert not failed, failed
            await asyncio.sleep(0.05)
        doomed.kill()
        closed_at_kill = await pool.fetchval("SELECT count(*) FROM milestones WHERE kind = 'closed'")
        killed_at = asyncio.get_running_loop().time()
        # Bounded by the longest activity timeout: a notification started on the killed worker is
        # retried once its 2-minute start-to-close timeout expires (no heartbeat to notice sooner).
        statuses = dict(zip(ids, await asyncio.wait_for(asyncio.gather(*runs), 240), strict=True))
        took = asyncio.get_running_loop().time() - killed_at
        print(f"all {COLLABORATIONS} completed {took:.1f}s after the kill")

        assert closed_at_kill < COLLABORATIONS, "the kill came before the end of the run"
        for wid, status in statuses.items():
            rows = await pool.fetch(ROWS, wid)
            assert [r["seq"] for r in rows] == [e.seq for e in status.history], wid
            assert [r["kind"] for r in rows] == [e.kind.value for e in status.history], wid
            assert [r["occurred_at"] for r in rows] == [e.at for e in status.history], wid
            assert len(rows) == ROWS_EACH and status.outcome == Outcome.DECLINED, wid
        assert await pool.fetchval("SELECT count(*) FROM milestones") == COLLABORATIONS * ROWS_EACH
        declined = "SELECT count(*) FROM collaborations WHERE outcome = 'declined'"
        assert await pool.fetchval(declined) == COLLABORATIONS
        identities = set().union(*[await worker_identities(client, wid) for wid in ids])
        assert {doomed.identity, survivor.identity} <= identities, "both workers did work"
    finally:
        await pool.close()
        doomed.stop()
        code = survivor.stop()
    assert code == 0, survivor.output()
    assert "worker stopped" in survivor.output()
