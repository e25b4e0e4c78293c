"""Deliveries given up on, and resending them: `passerelle notifications list --failed` and `retry`.

A real worker and Temporal server (time-skipping, where days must pass), PostgreSQL and a loopback
webhook receiver; the commands run as installed.
"""

import asyncio
import json
import time
from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from activities.outbox import Outbox
from schemas import Closure, NotificationEvent, Outcome
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.privacy_rows import settled
from tests.integration.test_bounded_life import DELIVERIES, notification
from tests.integration.test_webhook_notifications import Receiver, channel
from tests.integration.test_webhook_notifications import receiver as receiver
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

DAY = timedelta(days=1)


async def test_a_channel_that_never_recovers_is_given_up_then_resent_on_demand(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    pool: asyncpg.Pool,
    postgres_url: str,
    task_queue: str,
    workflow_id: str,
) -> None:
    """A webhook answering 503 for ever: a delivery is `failed` after its two-day window with the
    last error, the collaboration closes and completes, and `notifications retry` resends each
    failed delivery exactly once when the hook is back. (A closing e-mail still failing as the
    collaboration completes goes on in its `DeliveryWorkflow`: tests/integration/test_closing.py,
    on the dev server; the time-skipping server does not skip time past such a child.)"""
    target, url = receiver
    target.script = [503]
    async with run_worker(time_env.client, channels=[channel(url, secret=None)]):
        handle = await start(time_env.client, workflow_id, task_queue, language="en")
        await time_env.sleep(3 * DAY)  # the introduction's window ends: `failed`
        target.script = [503, 200]  # back for the closing e-mail's next attempt
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        final = await asyncio.wait_for(handle.result(), 120)
        await settled(pool, [workflow_id])
        target.script = [503]
    assert final.outcome is Outcome.ABANDONED
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"]) for r in rows] == [("started", "failed"), ("closed", "sent")]
    rows = [r for r in rows if r["status"] == "failed"]
    assert all("503" in r["last_error"] for r in rows), [r["last_error"] for r in rows]

    env = {"PASSERELLE_CHANNELS": "webhook", "PASSERELLE_WEBHOOK_URL": url}
    listed = passerelle(
        time_env.client, "notifications", "list", "--failed", database_url=postgres_url, **env
    )
    assert listed.returncode == 0 and all(r["key"] in listed.stdout for r in rows), listed.stdout
    target.script = [200]
    # In a thread: the loopback hook answers from this test's event loop.
    retried = await asyncio.to_thread(
        passerelle, time_env.client, "notifications", "retry", "--collaboration", workflow_id,
        database_url=postgres_url, **env,
    )  # fmt: skip
    assert (retried.returncode, retried.stdout.strip()) == (0, "resent 1 of 1 delivery"), retried.stderr
    again = await asyncio.to_thread(
        passerelle, time_env.client, "notifications", "retry", "--key", rows[0]["key"],
        database_url=postgres_url, **env,
    )  # fmt: skip
    assert (again.returncode, again.stdout.strip()) == (0, "nothing to resend")
    assert [s for (_, s), n in target.answered.items() for _ in range(n)].count(200) == 2
    assert {r["status"] for r in await pool.fetch(DELIVERIES, workflow_id)} == {"sent"}


async def test_a_notification_no_attempt_reached_is_listed_and_resent(
    time_env: WorkflowEnvironment, receiver: tuple[Receiver, str], pool: asyncpg.Pool, postgres_url: str
) -> None:
    """No worker ran during its window: no delivery row exists, yet `list --failed` shows it and
    `retry` sends it; an unwanted milestone notification of the same age is not undelivered."""
    target, url = receiver
    target.script = [200]
    lost, unwanted = notification(f"lost-{time.time_ns()}"), notification(f"quiet-{time.time_ns()}")
    unwanted = unwanted.model_copy(
        update={"event": NotificationEvent.MILESTONE, "context": {**unwanted.context, "milestone": "x"}}
    )
    outbox = Outbox(pool, [])
    for n in (lost, unwanted):
        await outbox.add(n)
        await pool.execute(
            "UPDATE notifications SET created_at = now() - interval '3 days' WHERE idempotency_key = $1",
            n.key,
        )
    env = {"PASSERELLE_CHANNELS": "webhook", "PASSERELLE_WEBHOOK_URL": url}
    for n in (lost, unwanted):
        listed = passerelle(
            time_env.client, "notifications", "list", "--failed", "--key", n.key, "--json",
            database_url=postgres_url, **env,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        expected = [(lost.key, None, "unattempted")] if n is lost else []
        assert [(r["key"], r["channel"], r["status"]) for r in json.loads(listed.stdout)] == expected
    retried = await asyncio.to_thread(
        passerelle, time_env.client, "notifications", "retry", "--key", lost.key,
        database_url=postgres_url, **env,
    )  # fmt: skip
    assert (retried.returncode, retried.stdout.strip()) == (0, "resent 1 of 1 delivery"), retried.stderr
    rows = await pool.fetch("SELECT channel, status FROM deliveries WHERE idempotency_key = $1", lost.key)
    assert [(r["channel"], r["status"]) for r in rows] == [("webhook", "sent")]
