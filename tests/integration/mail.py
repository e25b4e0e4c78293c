"""Helpers of the e-mail notification tests: a real aiosmtpd sink, the smtp channel, ordering."""

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.rendering import Renderer
from passerelle.devstack.smtpsink import ReceivedMail, SinkHandler, start_sink
from schemas import Closure, MilestoneRequest, Outcome, Stage, StageChange
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

UI = "http://ui.example:8233"
DELIVERIES = """
SELECT n.event, d.channel, d.status, d.attempts, d.result
FROM notifications n JOIN deliveries d USING (idempotency_key)
WHERE n.workflow_id = $1 ORDER BY split_part(n.idempotency_key, '/', 2)::int
"""
PARTIES = ["innovation@natixis.example", "partners@nabla.example"]


def free_port() -> int:
    """Return a loopback port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_channel(port: int, renderer: Renderer | None = None) -> SmtpChannel:
    """Return the smtp channel pointed at a loopback port, plain SMTP, sender at programme.example."""
    settings = SmtpSettings("127.0.0.1", port, "none", None, sender="Programme <noreply@programme.example>")
    return SmtpChannel(settings, renderer or Renderer(UI, "default"))


async def settled(pool: asyncpg.Pool, workflow_id: str, count: int, wait: float = 60) -> list[asyncpg.Record]:
    """Return the collaboration's delivery rows (`DELIVERIES`) once `count` of them are `sent` or
    `failed`, or as they stand after `wait` seconds: the test's assertions then say what is left."""
    rows: list[asyncpg.Record] = []
    for _ in range(int(wait * 10)):
        rows = await pool.fetch(DELIVERIES, workflow_id)
        if sum(r["status"] in ("sent", "failed") for r in rows) >= count:
            break
        await asyncio.sleep(0.1)
    return rows


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
    """Return the subjects of the mails, in event order."""
    return [str(m.message["Subject"]) for m in in_order(mails)]
