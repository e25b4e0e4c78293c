"""Poison cases: a channel that always fails permanently, and an activity that times out.

A broken channel must not block the lifecycle: each delivery is recorded `failed` with the
channel's answer (visible to operators in `deliveries`), the other channels still send, and the
collaboration completes. An activity attempt that outlives its timeout after committing is
retried by Temporal, and the retry writes nothing twice.
"""

import asyncio
import uuid
from datetime import timedelta

import asyncpg
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import PermanentDeliveryError
from activities.channels.log import LogChannel
from activities.milestones import MilestoneActivities
from schemas import EventRecord, Notification, Projection
from tests.conftest import WorkerFactory
from tests.faults.helpers import assert_exact_rows, full_lifecycle, settle
from workflows.activity_names import RECORD_EVENTS


class BrokenChannel:
    """A channel whose every delivery is refused for good (a mailbox that does not exist)."""

    name = "broken"

    async def send(self, notification: Notification) -> str:
        raise PermanentDeliveryError("550 5.1.1 mailbox unavailable")


async def test_a_permanently_failing_channel_does_not_block_the_lifecycle(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """Every delivery on the broken channel is `failed` with its reason; the log channel sends."""
    wid = f"poison-{uuid.uuid4().hex[:8]}"
    async with run_worker(dev_env.client, channels=[BrokenChannel(), LogChannel()]):
        status = await asyncio.wait_for(full_lifecycle(dev_env.client, wid, task_queue), timeout=60)
        await settle(pool, [wid])
    assert status.outcome == "deployed"
    deliveries = await assert_exact_rows(pool, [wid])
    broken = [d for d in deliveries if d["channel"] == "broken"]
    logged = [d for d in deliveries if d["channel"] == "log"]
    assert len(broken) == len(logged) == 6
    assert all(d["status"] == "failed" and "550 5.1.1" in d["result"] for d in broken)
    assert all(d["attempts"] == 1 for d in broken), "a permanent failure is not retried"
    assert all(d["status"] == "sent" for d in logged)


class SlowAfterCommit(MilestoneActivities):
    """Commits its rows, then outlives its timeout on the first attempt (a stuck network)."""

    @activity.defn(name=RECORD_EVENTS)
    async def record_events(self, record: EventRecord) -> int:
        added = await super().record_events(record)
        if activity.info().attempt == 1:
            await asyncio.sleep(4)  # beyond the 1 s start-to-close timeout below
        return added


@workflow.defn(sandboxed=False)
class RecordWithShortTimeout:
    """Calls the record activity by name with a 1 s timeout, so a slow attempt times out."""

    @workflow.run
    async def run(self, record: EventRecord) -> int:
        result: int = await workflow.execute_activity(
            RECORD_EVENTS,
            record,
            start_to_close_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
            result_type=int,
        )
        return result


async def test_a_timed_out_activity_is_retried_not_doubled(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """The first attempt commits then times out; the retry adds no row; one row per event."""
    wid = f"timeout-{uuid.uuid4().hex[:8]}"
    async with run_worker(dev_env.client):  # a real lifecycle gives a real record to replay
        status = await full_lifecycle(dev_env.client, wid, task_queue)
    before = await pool.fetchval("SELECT count(*) FROM milestones WHERE workflow_id = $1", wid)
    first = status.history[0]
    row = await pool.fetchrow("SELECT * FROM collaborations WHERE workflow_id = $1", wid)
    projection = Projection.model_validate({k: row[k] for k in Projection.model_fields})
    record = EventRecord(run_id="retry-run", entries=[first], projection=projection)
    slow = SlowAfterCommit(pool)
    queue = f"{task_queue}-timeout"
    async with Worker(
        dev_env.client, task_queue=queue, workflows=[RecordWithShortTimeout], activities=[slow.record_events]
    ):
        handle = await dev_env.client.start_workflow(
            RecordWithShortTimeout.run, record, id=f"{wid}-retry", task_queue=queue
        )
        added = await asyncio.wait_for(handle.result(), timeout=30)
        history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in kinds
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert attempts and attempts[-1] >= 2, "the first attempt timed out and was retried"
    assert added == 0, "the retry found the row already there"
    after = await pool.fetchval("SELECT count(*) FROM milestones WHERE workflow_id = $1", wid)
    assert after == before == 7
