"""E-mail notifications over real SMTP: an aiosmtpd sink on loopback reads what the worker sends."""

import asyncpg
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.smtp import message_id
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from activities.playbooks import PlaybookActivities
from passerelle.devstack.smtpsink import SinkHandler
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from schemas import Closure, Outcome
from tests.conftest import WorkerFactory
from tests.integration.mail import (
    DELIVERIES,
    PARTIES,
    UI,
    by_subject,
    in_order,
    lifecycle,
    sink,
    smtp_channel,
)
from tests.workflows.helpers import start
from workflows.activity_names import DELIVER
from workflows.collaboration import CollaborationWorkflow

__all__ = ["sink"]  # the fixture, used by name


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

    @activity.defn(name=DELIVER)
    async def deliver(self, key: str) -> dict[str, str]:
        result = await super().deliver(key)
        if activity.info().attempt == 1:
            self.failed.add(key)
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
        activities=[
            MilestoneActivities(pool).record_events,
            notifications.deliver,
            PlaybookActivities(pool).load_playbook,
        ],
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
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)] * 4, "the retry leased nothing"


async def test_injection_in_names_and_notes_is_escaped_or_folded(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    task_queue: str,
    workflow_id: str,
) -> None:
    """Markup in names and CR/LF in a free-text reason forge no header and no recipient.

    (CR/LF in a name is refused by the schema before it gets here, tests/fuzz; the channel's own
    defence against it is tested in tests/unit/test_rendering.py.)
    """
    handler, port = sink
    evil = {"name": "Evil Bcc: victim@evil.example <script>x()</script>", "contact_email": PARTIES[0]}
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, corporate=evil)
        await handle.execute_update(
            CollaborationWorkflow.close,
            Closure(outcome=Outcome.ABANDONED, by="ops", reason='<img src=x onerror="y()">\r\nX-Injected: 1'),
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
