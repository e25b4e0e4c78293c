"""The daily digest opens with a KPI header: open collaborations by stage and the stalled ratio."""

import uuid
from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas import DigestRequest, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow
from workflows.digest import DigestWorkflow


async def test_digest_header_counts_open_by_stage_and_stalled_ratio(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """Two in introduction (one stalled after a 1-day threshold), one in qualification: 1 of 3 stalled."""
    client, programme = time_env.client, f"Digest programme {uuid.uuid4()}"
    ids = [f"collab-kpi-digest-{i}-{uuid.uuid4()}" for i in range(3)]
    async with run_worker(client):
        on_track = await start(client, ids[0], task_queue, programme=programme)
        moved = await start(client, ids[1], task_queue, programme=programme)
        stalled = await start(
            client, ids[2], task_queue, programme=programme, stall_after_days={"introduction": 1}
        )
        await moved.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        await time_env.sleep(timedelta(days=2))
        digest = await client.execute_workflow(
            DigestWorkflow.run,
            DigestRequest(recipients=["ops@programme.example"], programme=programme),
            id=f"digest-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        for handle in (on_track, moved, stalled):
            await abandon(client.get_workflow_handle(handle.id))
    context = await pool.fetchval(
        "SELECT context FROM notifications WHERE idempotency_key = $1", digest.notification_key
    )
    assert [s.workflow_id for s in digest.stalled] == [ids[2]]
    assert context["kpis"] == (
        "3 open (introduction 2, qualification 1, pilot 0, evaluation 0, deployment 0); 1 stalled (33.3 %)"
    )
    assert (context["open"], context["stalled_ratio"]) == ("3", "0.3333")
