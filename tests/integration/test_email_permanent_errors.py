"""Answers a retry cannot change end a delivery `failed` after one attempt, with their reason;
the others are still retried. Real aiosmtpd servers, a real worker and Temporal dev server.

A start-up address with a Cyrillic local part is valid input: it goes with SMTPUTF8 where the
server offers it, and fails at once, saying so, where it does not. An international domain alone
needs no SMTPUTF8: it goes in its IDNA form to any server.
"""

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session
from email_validator import validate_email
from jinja2 import ChoiceLoader, DictLoader, PackageLoader
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.channels.smtp import NO_SMTPUTF8
from activities.rendering import Renderer
from passerelle.devstack.smtpsink import SinkHandler, start_sink
from schemas import Closure, Outcome
from tests.conftest import WorkerFactory
from tests.integration.mail import UI, settled, smtp_channel
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

CYRILLIC = "иван@nabla.example"
IDN = "partners@nåbla.example"
CORPORATE = "innovation@natixis.example"


@dataclass
class AnswersData(SinkHandler):
    """The sink, answering DATA with each of `answers` in turn before it accepts."""

    answers: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Answer the next of `answers`, or accept the mail once there is none left."""
        if self.answers:
            return self.answers.pop(0)
        return await super().handle_DATA(server, session, envelope)


def startup(email: str) -> dict[str, str]:
    return {"name": "Nabla", "contact_email": email, "label": "Next40"}


async def start_and_close(
    env: WorkflowEnvironment, pool: asyncpg.Pool, workflow_id: str, task_queue: str, **changes: object
) -> tuple[WorkflowHandle[Any, Any], list[asyncpg.Record]]:
    """Start a collaboration, let its introduction settle, decline it; return it and both
    deliveries once settled (the test checks them before it waits for the workflow to end)."""
    handle = await start(env.client, workflow_id, task_queue, **changes)
    await settled(pool, workflow_id, 1)
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
    )
    return handle, await settled(pool, workflow_id, 2)


def outcomes(rows: list[asyncpg.Record]) -> list[tuple[str, str, int]]:
    return [(r["event"], r["status"], r["attempts"]) for r in rows]


async def through_sink(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    workflow_id: str,
    task_queue: str,
    address: str,
    *,
    smtputf8: bool,
) -> tuple[SinkHandler, list[asyncpg.Record]]:
    """Start and close a collaboration whose start-up is written to at `address`, through a sink
    that offers SMTPUTF8 or not; return what the sink received and the delivery rows."""
    handler = SinkHandler()
    server = await start_sink(handler, smtputf8=smtputf8)
    try:
        async with run_worker(dev_env.client, channels=[smtp_channel(server.sockets[0].getsockname()[1])]):
            handle, rows = await start_and_close(
                dev_env, pool, workflow_id, task_queue, startup=startup(address)
            )
            await handle.result()
    finally:
        server.close()
    return handler, rows


async def test_a_non_ascii_address_goes_with_smtputf8_where_the_server_offers_it(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Both e-mails arrive once, at `иван@nabla.example` as written, beside the ASCII addresses."""
    handler, rows = await through_sink(
        dev_env, run_worker, pool, workflow_id, task_queue, CYRILLIC, smtputf8=True
    )
    assert outcomes(rows) == [("started", "sent", 1), ("closed", "sent", 1)]
    introduction, closing = handler.received
    assert sorted(introduction.rcpt_tos) == sorted([CORPORATE, CYRILLIC])
    assert sorted(closing.rcpt_tos) == sorted([CORPORATE, CYRILLIC, "operator@programme.example"])
    assert CYRILLIC in str(introduction.message["To"]) and CORPORATE in str(introduction.message["To"])
    assert introduction.mail_from == "noreply@programme.example"


async def test_a_non_ascii_address_fails_at_once_where_the_server_cannot_take_it(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """No SMTPUTF8: each message is `failed` after its one attempt, saying why, and none goes out."""
    handler, rows = await through_sink(
        dev_env, run_worker, pool, workflow_id, task_queue, CYRILLIC, smtputf8=False
    )
    assert outcomes(rows) == [("started", "failed", 1), ("closed", "failed", 1)]
    assert all(f"{NO_SMTPUTF8}: {CYRILLIC}" in r["result"] for r in rows), [r["result"] for r in rows]
    assert handler.received == []


async def test_an_international_domain_alone_goes_in_idna_to_any_server(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """The near miss: `partners@nåbla.example` needs no SMTPUTF8; the ASCII addresses go as they are."""
    handler, rows = await through_sink(
        dev_env, run_worker, pool, workflow_id, task_queue, IDN, smtputf8=False
    )
    assert outcomes(rows) == [("started", "sent", 1), ("closed", "sent", 1)]
    idna = validate_email(IDN, check_deliverability=False).ascii_email
    assert idna == "partners@xn--nbla-qoa.example"
    assert sorted(handler.received[0].rcpt_tos) == sorted([CORPORATE, idna])
    assert str(handler.received[0].message["To"]) == f"Natixis <{CORPORATE}>, Nabla <{idna}>"


async def test_a_template_that_cannot_render_fails_at_once_naming_it(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """A template naming a field the notification lacks: that notification fails, the next one goes."""
    broken = DictLoader({"fr/started.txt.j2": "Bonjour {{ nobody_knows }}"})
    renderer = Renderer(
        UI, "default", templates=ChoiceLoader([broken, PackageLoader("activities", "templates")])
    )
    handler = SinkHandler()
    server = await start_sink(handler)
    try:
        channel = smtp_channel(server.sockets[0].getsockname()[1], renderer)
        async with run_worker(dev_env.client, channels=[channel]):
            handle, rows = await start_and_close(dev_env, pool, workflow_id, task_queue)
            assert outcomes(rows) == [("started", "failed", 1), ("closed", "sent", 1)]
            await handle.result()
    finally:
        server.close()
    assert "the template fr/started.txt.j2 cannot be rendered" in rows[0]["result"]
    assert "'nobody_knows' is undefined" in rows[0]["result"]
    assert len(handler.received) == 1


async def test_a_5xx_answer_fails_at_once_and_a_4xx_is_retried(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """554 to the introduction's DATA: `failed`, one attempt. 451 to the closing's: sent on a retry."""
    handler = AnswersData(answers=["554 5.6.0 message refused"])
    server = await start_sink(handler)
    try:
        async with run_worker(dev_env.client, channels=[smtp_channel(server.sockets[0].getsockname()[1])]):
            handle = await start(dev_env.client, workflow_id, task_queue)
            await settled(pool, workflow_id, 1)
            handler.answers.append("451 4.3.0 try again later")
            await handle.execute_update(
                CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
            )
            rows = await settled(pool, workflow_id, 2)
            assert outcomes(rows) == [("started", "failed", 1), ("closed", "sent", 2)]
            await handle.result()
    finally:
        server.close()
    assert "554" in rows[0]["result"] and "message refused" in rows[0]["result"]
    assert len(handler.received) == 1
