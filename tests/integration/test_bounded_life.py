"""A collaboration's whole life stays bounded: typo thresholds, dead channels, leases, deadlines.

Each test runs the real worker against a real Temporal server (the dev server, or the
time-skipping one where days must pass) and PostgreSQL; the channels are real too (HTTP to a
loopback aiohttp server, SMTP to a loopback socket).
"""

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

import activities.outbox
from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.outbox import DeliveryBusy, DeliveryPending, Outbox
from activities.rendering import Renderer
from passerelle.audit.histories import fetch_chain
from schemas import Closure, MilestoneRequest, Notification, Outcome, Stage, StageChange
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.factories import request
from tests.integration.privacy_rows import settled
from tests.integration.test_webhook_notifications import Receiver, channel
from tests.integration.test_webhook_notifications import receiver as receiver
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.notifications import notification_for
from workflows.domain.recent import RECENT_ENTRIES
from workflows.domain.state import CollaborationState

DAY = timedelta(days=1)
DELIVERIES = """
SELECT n.idempotency_key AS key, n.event, d.status, d.last_error
FROM notifications n JOIN deliveries d USING (idempotency_key)
WHERE n.workflow_id = $1 ORDER BY split_part(n.idempotency_key, '/', 2)::int
"""


def notification(key: str) -> Notification:
    """Return the `started` notification the workflow sends, under a key of this test's own."""
    now = datetime.now(UTC)
    state = CollaborationState.begin(request(language="en"), "w-" + key, "c-" + key, now)
    started = notification_for(state, state.start_entry(now))
    assert started is not None
    return started.model_copy(update={"key": key})


async def test_a_threshold_below_the_floor_is_refused_and_mails_nobody(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """86 ms typed as 0.000001 days: the Web UI's start fails at once naming the field and the
    floor, the CLI refuses it before Temporal, and no reminder goes to anyone."""
    message = "stall_after_days.introduction: must be at least 0.0001 days (about 9 s)"
    async with run_worker(dev_env.client):
        handle = await start(
            dev_env.client, workflow_id, task_queue, stall_after_days={"introduction": 0.000001}
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), 20)
        await asyncio.sleep(2)
    assert message in str(failure.value.cause)
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE workflow_id = $1", workflow_id) == 0
    cli = passerelle(
        dev_env.client,
        "start",
        "--corporate", "Natixis", "--corporate-email", "innovation@natixis.example",
        "--startup", "Nabla", "--startup-email", "partners@nabla.example",
        "--programme", "FTCC", "--topic", "Notes", "--sector", "health",
        "--owner-email", "operator@programme.example", "--stall", "introduction=0.000001",
    )  # fmt: skip
    assert (cli.returncode, cli.stderr.strip()) == (2, f"error: invalid collaboration request: {message}")


async def test_continue_as_new_hands_pending_deliveries_to_the_next_run(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Deliveries failing for longer than the handover grace do not hold continue-as-new: the
    runs move on, the next run sends them, and every notification is accepted exactly once."""
    target, url = receiver
    target.script = [503, 503, 503, 200]  # retried after 2, 4 and 8 s: past the 10 s grace
    path = [Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT]
    async with run_worker(dev_env.client, channels=[channel(url, secret=None)]):
        await start(dev_env.client, workflow_id, task_queue, continue_as_new_after_events=20)
        latest = dev_env.client.get_workflow_handle_for(CollaborationWorkflow.run, workflow_id)
        first = (await latest.describe()).run_id
        for stage in path:
            await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="ops"))
        for _ in range(60):  # the run continues-as-new once its grace is over, deliveries failing
            if (await latest.describe()).run_id != first:
                break
            await asyncio.sleep(0.5)
        await latest.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DEPLOYED, by="ops", reason="live")
        )
        final = await asyncio.wait_for(latest.result(), 120)
        await settled(pool, [workflow_id])  # the last ones may be delivered by the closed run's child
        runs = await fetch_chain(dev_env.client, workflow_id)
    assert final.runs > 1
    carried = []
    for run in runs[1:]:
        started = run.events[0].workflow_execution_started_event_attributes
        _, state = await dev_env.client.data_converter.decode(started.input.payloads)
        carried += state["pending_deliveries"]
    assert carried, "the test must hand deliveries over, or it proves nothing"
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert len(rows) == len(path) + 2 and {r["status"] for r in rows} == {"sent"}
    accepted = {key: n for (key, status), n in target.answered.items() if status == 200}
    assert sorted(accepted) == sorted(r["key"] for r in rows) and set(accepted.values()) == {1}


class SlowChannel:
    """Takes a second to send, and counts its sends."""

    name = "slow"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, n: Notification) -> str:
        await asyncio.sleep(1)
        self.sent.append(n.key)
        return "ok"


async def test_a_delivery_being_sent_is_never_sent_again_by_another_attempt(pool: asyncpg.Pool) -> None:
    """Two attempts at once (a retry overtaking a slow one): one sends, the other waits its turn."""
    slow = SlowChannel()
    outbox = Outbox(pool, [slow])
    n = notification(f"lease-{time.monotonic_ns()}")
    await outbox.add(n)
    first, second = await asyncio.gather(
        outbox.deliver(n, lambda: False), outbox.deliver(n, lambda: False), return_exceptions=True
    )
    outcomes = sorted([first, second], key=lambda r: isinstance(r, Exception))
    assert outcomes[0] == {"slow": "sent"}
    assert isinstance(outcomes[1], DeliveryBusy)
    assert await outbox.deliver(n, lambda: False) == {"slow": "sent"}  # already sent: skipped
    assert slow.sent == [n.key]


@pytest_asyncio.fixture
async def silent_smtp() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers (a stuck SMTP server)."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in connections:
        writer.close()
    server.close()


async def test_a_hanging_channel_is_cut_at_its_deadline(
    pool: asyncpg.Pool, silent_smtp: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SMTP server that never answers, with a client timeout longer than the attempt: the send
    is cut at the channel's overall deadline and the delivery is `pending` again, with the error."""
    monkeypatch.setattr(activities.outbox, "CHANNEL_DEADLINE", timedelta(seconds=1))
    settings = SmtpSettings(
        "127.0.0.1", silent_smtp, "none", None, sender="P <noreply@programme.example>", timeout=120
    )
    outbox = Outbox(pool, [SmtpChannel(settings, Renderer("http://ui.example", "default"))])
    n = notification(f"deadline-{time.monotonic_ns()}")
    await outbox.add(n)
    began = time.monotonic()
    with pytest.raises(DeliveryPending):
        await outbox.deliver(n, lambda: False)
    assert time.monotonic() - began < 5
    row = await pool.fetchrow(
        "SELECT status, last_error, lease_until FROM deliveries WHERE idempotency_key = $1", n.key
    )
    assert (row["status"], row["last_error"], row["lease_until"]) == ("pending", "TimeoutError", None)


async def test_status_shows_the_whole_history_from_postgres(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    postgres_url: str,
    task_queue: str,
    workflow_id: str,
) -> None:
    """30 milestones: the workflow keeps the latest 20, `passerelle status` shows all 31 entries
    from PostgreSQL, and `--last 5` the last five; an update's answer carries no history."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        for i in range(30):
            answer = await handle.execute_update(
                CollaborationWorkflow.record_milestone,
                MilestoneRequest(kind=f"m{i}", by="ops", note="é" * 400),
            )
        kept = await handle.query(CollaborationWorkflow.status)

        def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
            # In a thread: the worker answering the CLI's query runs on this test's event loop.
            return passerelle(dev_env.client, "status", workflow_id, *args, **env)

        full = await asyncio.to_thread(cli, "--json", database_url=postgres_url)
        last = await asyncio.to_thread(cli, "--last", "5", "--json", database_url=postgres_url)
        table = await asyncio.to_thread(cli, "--last", "3", database_url=postgres_url)
        # Without the database a command cannot read the collaboration's data key either.
        offline = await asyncio.to_thread(
            cli, "--json", PASSERELLE_STATE_DIR="/nonexistent", PASSERELLE_DATABASE_URL=""
        )
    assert (answer.history, answer.entries) == ([], 31)
    assert [e.seq for e in kept.history] == list(range(32 - RECENT_ENTRIES, 32))
    assert full.returncode == 0, full.stderr
    entries = json.loads(full.stdout)["history"]
    assert [e["seq"] for e in entries] == list(range(1, 32)) and entries[-1]["note"] == "é" * 400
    assert [e["seq"] for e in json.loads(last.stdout)["history"]] == [27, 28, 29, 30, 31]
    assert table.returncode == 0 and "m29" in table.stdout and "m26" not in table.stdout
    assert offline.returncode == 1 and "set PASSERELLE_DATABASE_URL" in offline.stderr, offline.stderr
    assert "Traceback" not in offline.stderr
