"""E-mail notifications over real SMTP: an aiosmtpd sink on loopback reads what the worker sends."""

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.smtp import SmtpChannel, message_id
from activities.notifications import NotificationActivities
from activities.rendering import Renderer
from passerelle.config import SmtpSettings
from passerelle.smtpsink import ReceivedMail, SinkHandler, start_sink
from schemas import Closure, MilestoneRequest, Notification, Outcome, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from worker import WORKFLOWS, workflow_runner
from workflows.activity_names import NOTIFY
from workflows.collaboration import CollaborationWorkflow

UI = "http://ui.example:8233"
DELIVERIES = """
SELECT n.event, d.channel, d.status, d.attempts, d.result
FROM notifications n JOIN deliveries d USING (idempotency_key)
WHERE n.workflow_id = $1 ORDER BY split_part(n.idempotency_key, '/', 2)::int
"""
ATTEMPTS = """
SELECT max(attempts) FROM deliveries JOIN notifications USING (idempotency_key) WHERE workflow_id = $1
"""
PARTIES = ["innovation@natixis.example", "partners@nabla.example"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_channel(port: int) -> SmtpChannel:
    settings = SmtpSettings("127.0.0.1", port, "none", None, sender="Programme <noreply@programme.example>")
    return SmtpChannel(settings, Renderer(UI, "default"))


@pytest_asyncio.fixture
async def sink() -> AsyncIterator[tuple[SinkHandler, int]]:
    """A real aiosmtpd server on a free loopback port, for this test only."""
    handler = SinkHandler()
    server = await start_sink(handler)
    yield handler, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def lifecycle(env: WorkflowEnvironment, workflow_id: str, task_queue: str, **changes: Any) -> str:
    """Start, advance with an HTML note, record two milestones, decline; return the collaboration id."""
    handle = await start(env.client, workflow_id, task_queue, **changes)
    await handle.execute_update(
        CollaborationWorkflow.advance,
        StageChange(to=Stage.QUALIFICATION, by="ops@programme.example", note="<b>call</b> held & agreed"),
    )
    for kind in ("NDA signed", "Coffee"):
        await handle.execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind=kind, by="ops")
        )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
    )
    return (await handle.result()).collaboration_id


def in_order(mails: list[ReceivedMail]) -> list[ReceivedMail]:
    """Mails sorted by event number (deliveries run beside the workflow, in any order)."""
    return sorted(mails, key=lambda m: int(str(m.message["X-Passerelle-Key"]).split("/")[1]))


def by_subject(mails: list[ReceivedMail]) -> list[str]:
    return [str(m.message["Subject"]) for m in in_order(mails)]


async def test_lifecycle_sends_the_expected_french_emails(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """started, stage change, closed: three mails with the right headers; milestones off by default."""
    handler, port = sink
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        collaboration_id = await lifecycle(dev_env, workflow_id, task_queue)
    p = "[French Tech Corporate Community] Natixis × Nabla"
    assert by_subject(handler.received) == [
        "[French Tech Corporate Community] Mise en relation : Natixis × Nabla",
        f"{p} : passage en phase « qualification »",
        f"{p} : collaboration déclinée",
    ]
    events = ((1, "started"), (2, "stage_changed"), (5, "closed"))
    keys = [f"{collaboration_id}/{seq}/{event}" for seq, event in events]
    mails = in_order(handler.received)
    for mail, key in zip(mails, keys, strict=True):
        assert mail.message["Message-ID"] == message_id(key, "programme.example")
        assert mail.message["X-Passerelle-Key"] == key
        assert mail.message["From"] == "Programme <noreply@programme.example>"
        assert mail.message["Content-Language"] == "fr"
        link = f"{UI}/namespaces/default/workflows/{workflow_id}"
        assert link in mail.body("plain") and f'href="{link}"' in mail.body("html")
    started, changed, closed = mails
    assert sorted(started.rcpt_tos) == sorted(PARTIES)
    to = "Natixis <innovation@natixis.example>, Nabla <partners@nabla.example>"
    assert str(started.message["To"]) == to
    assert sorted(closed.rcpt_tos) == sorted([*PARTIES, "operator@programme.example"])
    assert "&lt;b&gt;call&lt;/b&gt; held &amp; agreed" in changed.body("html")
    assert "<b>call</b> held & agreed" in changed.body("plain")
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"], r["attempts"]) for r in rows] == [
        ("started", "sent", 1),
        ("stage_changed", "sent", 1),
        ("closed", "sent", 1),
    ]
    assert rows[0]["result"].startswith(message_id(keys[0], "programme.example"))


class FailsAfterSending(NotificationActivities):
    """Delivers and marks, then fails its first attempt: as if the worker died right after."""

    failed: set[str]

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> dict[str, str]:
        result = await super().notify(notification)
        if activity.info().attempt == 1:
            self.failed.add(notification.key)
            raise RuntimeError("simulated crash after the send")
        return result


async def test_retry_after_send_sends_no_second_email(
    dev_env: WorkflowEnvironment,
    sink: tuple[SinkHandler, int],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Every notify attempt fails once after sending; each event still reaches the inbox once.

    Milestone notifications are on for `NDA signed` only, in English.
    """
    handler, port = sink
    notifications = FailsAfterSending(pool, [smtp_channel(port)], milestone_kinds=["nda signed"])
    notifications.failed = set()
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[*record_activities(pool), notifications.notify],
    ):
        await lifecycle(dev_env, workflow_id, task_queue, language="en")
    p = "[French Tech Corporate Community] Natixis × Nabla"
    assert by_subject(handler.received) == [
        "[French Tech Corporate Community] Introduction: Natixis × Nabla",
        f"{p}: now in qualification",
        f'{p}: milestone "NDA signed"',
        f"{p}: collaboration declined",
    ]
    assert len({m.message["Message-ID"] for m in handler.received}) == 4
    assert len(notifications.failed) == 5, "every notify (Coffee too, sending nothing) failed once"
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)] * 4


def record_activities(pool: asyncpg.Pool) -> list[Any]:
    from activities.milestones import MilestoneActivities

    return [MilestoneActivities(pool).record_events]


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


async def test_injection_in_names_and_notes_is_escaped_or_folded(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    task_queue: str,
    workflow_id: str,
) -> None:
    """CR/LF in a name forges no header and adds no recipient; markup is shown as text."""
    handler, port = sink
    evil = {"name": "Evil\r\nBcc: victim@evil.example\r\n<script>x()</script>", "contact_email": PARTIES[0]}
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, corporate=evil)
        await handle.execute_update(
            CollaborationWorkflow.close,
            Closure(outcome=Outcome.ABANDONED, by="ops\r\nX-Injected: 1", reason='<img src=x onerror="y()">'),
        )
        await handle.result()
    assert len(handler.received) == 2
    mails = in_order(handler.received)
    for mail in mails:
        assert mail.message["Bcc"] is None and mail.message["X-Injected"] is None
        assert "victim@evil.example" not in mail.rcpt_tos
        assert "<script>" not in mail.body("html") and "&lt;script&gt;x()&lt;/script&gt;" in mail.body("html")
        assert "Evil Bcc: victim@evil.example <script>x()</script> × Nabla" in str(mail.message["Subject"])
    assert "<img" not in mails[1].body("html")
    assert "&lt;img src=x onerror=&#34;y()&#34;&gt;" in mails[1].body("html")


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
        for _ in range(100):  # the first attempt fails (nothing listens), then Temporal backs off
            if await pool.fetchval(ATTEMPTS, workflow_id):
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
