"""Closed means closed: a collaboration completes as its outcome is recorded, whatever its channels do.

The webhook channel answers 503 (down) when the collaboration is closed. The collaboration is
`Completed` within seconds; its deliveries go on in its `DeliveryWorkflow` child, visible in
`passerelle notifications list`; the same pair can start again; once the channel is back each
notification is accepted exactly once, within its window, and the child completes.
"""

import asyncio
import json

import asyncpg
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from schemas import Closure, Outcome, Stage, StageChange
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.privacy_rows import settled
from tests.integration.test_webhook_notifications import Receiver, channel
from tests.integration.test_webhook_notifications import receiver as receiver
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow
from workflows.deliveries import CLOSING_GRACE

__all__ = ["receiver"]  # the fixture, imported for the tests below


async def test_a_closed_collaboration_completes_at_once_with_its_channel_down(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    target, url = receiver
    target.script = [503]  # down: every attempt fails, transiently
    async with run_worker(dev_env.client, channels=[channel(url, secret=None)]):
        handle = await start(dev_env.client, workflow_id, task_queue)
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no fit")
        )
        final = await asyncio.wait_for(handle.result(), 10)  # the channel is still down
        assert final.outcome is Outcome.DECLINED
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        run_id = (await handle.describe()).run_id
        child = dev_env.client.get_workflow_handle(f"{workflow_id}.deliveries.{run_id}")
        assert (await child.describe()).status == WorkflowExecutionStatus.RUNNING

        listed = await asyncio.to_thread(
            passerelle, dev_env.client, "notifications", "list", "--collaboration", workflow_id, "--json"
        )
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert any(r["key"].endswith("/closed") and r["status"] == "pending" for r in rows), rows

        again = await start(dev_env.client, workflow_id, task_queue)  # the same pair starts again
        await abandon(again)

        target.script = [503, 200]  # the channel is back: each key's next attempt is accepted
        await asyncio.wait_for(child.result(), 60)
        await settled(pool, [workflow_id])
    keys = await pool.fetch(
        "SELECT n.idempotency_key, d.status FROM notifications n JOIN deliveries d USING (idempotency_key)"
        " WHERE n.workflow_id = $1 AND n.collaboration_id = $2",
        workflow_id,
        final.collaboration_id,
    )
    assert {r["status"] for r in keys} == {"sent"} and len(keys) == 3  # started, stage_changed, closed
    assert all(target.answered[r["idempotency_key"], 200] == 1 for r in keys), target.answered


async def test_continue_as_new_does_not_wait_for_deliveries(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    task_queue: str,
    workflow_id: str,
) -> None:
    """With the channel down, a run continues-as-new after the short closing grace, not the
    former ten seconds: its deliveries are carried to the next run."""
    target, url = receiver
    target.script = [503]
    async with run_worker(dev_env.client, channels=[channel(url, secret=None)]):
        await start(dev_env.client, workflow_id, task_queue, continue_as_new_after_events=20)
        latest = dev_env.client.get_workflow_handle_for(CollaborationWorkflow.run, workflow_id)
        first = (await latest.describe()).run_id
        for stage in (Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT):
            await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        for _ in range(40):
            if (await latest.describe()).run_id != first:
                break
            await asyncio.sleep(0.25)
        history = await dev_env.client.get_workflow_handle(workflow_id, run_id=first).fetch_history()
        await latest.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        await asyncio.wait_for(latest.result(), 10)
        target.script = [200]
    continued = history.events[-1].workflow_execution_continued_as_new_event_attributes
    _, carried = await dev_env.client.data_converter.decode(continued.input.payloads)
    assert carried["pending_deliveries"], "the run continued with its deliveries still failing"
    graces = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
        and e.HasField("user_metadata")
        and await dev_env.client.data_converter.decode([e.user_metadata.summary])
        == ["deliveries to hand over"]
    ]
    assert graces == [CLOSING_GRACE], "continue-as-new gave its deliveries a short grace, and no more"
    cancelled = [e for e in history.events if e.HasField("activity_task_cancel_requested_event_attributes")]
    assert cancelled, "the run let go of the deliveries it carried over"
