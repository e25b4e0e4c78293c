"""E-mail failures over real SMTP: duplicates recognisable, refusals recorded, outages retried."""

import asyncio

import asyncpg
from temporalio.testing import WorkflowEnvironment

from activities.channels.smtp import SmtpChannel
from activities.rendering import Renderer
from passerelle.devstack.smtpsink import SinkHandler, start_sink
from schemas import Closure, Notification, Outcome
from tests.conftest import WorkerFactory
from tests.integration.mail import (
    DELIVERIES,
    PARTIES,
    UI,
    by_subject,
    free_port,
    in_order,
    sink,
    smtp_channel,
)
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

__all__ = ["sink"]  # the fixture, used by name

FAILED_ONCE = """
SELECT count(*) FROM deliveries JOIN notifications USING (idempotency_key)
WHERE workflow_id = $1 AND last_error IS NOT NULL
"""


class CrashesBetweenSendAndMark(SmtpChannel):
    """Sends, then fails before the outbox can mark the delivery sent (first time per key)."""

    crashed: set[str]

    async def send(self, notification: Notification) -> str:
        answer = await super().send(notification)
        if notification.key not in self.crashed:
            self.crashed.add(notification.key)
            raise RuntimeError("simulated crash between send and mark")
        return answer


async def test_crash_between_send_and_mark_resends_with_the_same_message_id(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    task_queue: str,
    workflow_id: str,
) -> None:
    """The documented edge: the duplicate carries the same Message-ID, so it is recognisable."""
    handler, port = sink
    channel = CrashesBetweenSendAndMark(smtp_channel(port)._settings, Renderer(UI, "default"))
    channel.crashed = set()
    async with run_worker(dev_env.client, channels=[channel]):
        handle = await start(dev_env.client, workflow_id, task_queue)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="x")
        )
        await handle.result()
    ids = [m.message["Message-ID"] for m in in_order(handler.received)]
    assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


async def test_refused_mailboxes_are_recorded_not_retried(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """550 for every recipient → `failed` after one attempt; for some → sent, the refusal noted."""
    handler, port = sink
    handler.refuse = set(PARTIES)
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="x")
        )
        await handle.result()
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"], r["attempts"]) for r in rows] == [
        ("started", "failed", 1),
        ("closed", "sent", 1),
    ]
    assert "550" in rows[0]["result"] and "refused: innovation@natixis.example (550)" in rows[1]["result"]
    assert [m.rcpt_tos for m in handler.received] == [["operator@programme.example"]]


async def test_unreachable_server_is_retried_until_it_answers(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Connection refused is transient: Temporal retries, and the mail goes once the server is up."""
    port = free_port()
    handler = SinkHandler()
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue)
        # Until the first attempt has failed (nothing listens): a delivery row exists, leased, as
        # soon as the attempt begins, so its mere presence would let the sink start in time for it.
        for _ in range(200):
            if await pool.fetchval(FAILED_ONCE, workflow_id):
                break
            await asyncio.sleep(0.1)
        server = await start_sink(handler, port=port)
        try:
            await handle.execute_update(
                CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="x")
            )
            await handle.result()
        finally:
            server.close()
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"]) for r in rows] == [("started", "sent"), ("closed", "sent")]
    assert rows[0]["attempts"] >= 2
    assert by_subject(handler.received)[0].startswith("[French Tech Corporate Community] Mise en relation")
    assert len(handler.received) == 2
