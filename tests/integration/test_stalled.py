"""Stalled collaborations, live: a fractional threshold, visibility, the digest and its Schedule."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.schedules import DIGEST_SCHEDULE_ID, apply_schedules
from schemas import Closure, CollaborationStatus, DigestRequest, Outcome
from schemas.fields import MIN_STALL_DAYS
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow
from workflows.digest import DigestWorkflow

T = TypeVar("T")
FLOOR = MIN_STALL_DAYS  # the shortest threshold allowed: about 9 s


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], seconds: float = 30) -> T:
    """Poll `probe` until `ok` holds (visibility is eventually consistent); fail after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await probe()
        if ok(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.25)


async def close(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="test", reason="test over")
    )
    await handle.result()


async def test_live_collaboration_becomes_stalled_and_is_found(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """With the shortest threshold (about 9 s) it stalls, `Stalled = true` finds it, each reminder row exists once."""
    client = dev_env.client
    async with run_worker(client):
        handle = await start(client, workflow_id, task_queue, stall_after_days={"introduction": FLOOR})
        status: CollaborationStatus = await eventually(
            lambda: handle.query(CollaborationWorkflow.status), lambda s: s.stalled
        )
        query = f'WorkflowId = "{workflow_id}" AND Stalled = true AND Stage = "introduction"'
        found = await eventually(lambda: client.count_workflows(query), lambda c: c.count == 1)
        # The projection follows once the reminder's record activity has run (after the query saw it).
        row = await eventually(
            lambda: pool.fetchrow("SELECT stalled FROM collaborations WHERE workflow_id = $1", workflow_id),
            lambda r: r is not None and r["stalled"],
        )
        await close(client, workflow_id)
    final = await handle.result()
    assert status.stalled and status.reminders_sent >= 1
    assert found.count == 1
    assert row["stalled"] is True
    reminders = await pool.fetch(
        "SELECT seq, reminder_number FROM milestones WHERE workflow_id = $1 AND kind = 'reminder' ORDER BY seq",
        workflow_id,
    )
    assert [r["reminder_number"] for r in reminders] == list(range(1, final.reminders_sent + 1))
    cleared = await eventually(
        lambda: client.count_workflows(f'WorkflowId = "{workflow_id}" AND Stalled = false'),
        lambda c: c.count == 1,
    )
    assert cleared.count == 1, "closing clears the Stalled search attribute"


async def test_digest_lists_exactly_the_stalled_ones(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """Two stalled and one on-track collaboration of a programme: the digest names the two."""
    client, programme = dev_env.client, f"Programme {uuid.uuid4()}"
    ids = [f"collab-digest-{i}-{uuid.uuid4()}" for i in range(3)]
    async with run_worker(client):
        for wid, days in zip(ids, [FLOOR, FLOOR, 30], strict=True):
            await start(client, wid, task_queue, programme=programme, stall_after_days={"introduction": days})
        for wid in ids[:2]:
            await eventually(
                lambda wid=wid: client.get_workflow_handle(wid).query(CollaborationWorkflow.status),
                lambda s: s.stalled,
            )
        digest = await client.execute_workflow(
            DigestWorkflow.run,
            DigestRequest(recipients=["ops@programme.example"], programme=programme),
            id=f"digest-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        for wid in ids:
            await close(client, wid)
    assert sorted(s.workflow_id for s in digest.stalled) == sorted(ids[:2])
    row = await pool.fetchrow(
        "SELECT event, context FROM notifications WHERE idempotency_key = $1", digest.notification_key
    )
    assert row["event"] == "digest" and row["context"]["count"] == "2"
    assert all(wid in row["context"]["lines"] for wid in ids[:2]) and ids[2] not in row["context"]["lines"]


async def test_digest_schedule_is_applied_idempotently(dev_env: WorkflowEnvironment, task_queue: str) -> None:
    """Applying twice creates then updates one Schedule that starts DigestWorkflow daily."""
    env = {"PASSERELLE_OPERATOR_EMAILS": "a@programme.example,b@programme.example"}
    first = await apply_schedules(dev_env.client, env, task_queue)
    second = await apply_schedules(
        dev_env.client, {**env, "PASSERELLE_DIGEST_CRON": "30 8 * * 1-5"}, task_queue
    )
    description = await dev_env.client.get_schedule_handle(DIGEST_SCHEDULE_ID).describe()
    await dev_env.client.get_schedule_handle(DIGEST_SCHEDULE_ID).delete()
    assert (first, second) == ({DIGEST_SCHEDULE_ID: "created"}, {DIGEST_SCHEDULE_ID: "updated (cron)"})
    action = description.schedule.action
    assert action.workflow == "DigestWorkflow" and action.task_queue == task_queue
    calendar = description.schedule.spec.calendars[0]  # the server stores cron as calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (8, 30)
    assert (calendar.day_of_week[0].start, calendar.day_of_week[0].end) == (1, 5)
