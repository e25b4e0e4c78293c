"""Webhook notifications over real HTTP: an aiohttp server on loopback answers as told."""

import asyncio
import hashlib
import hmac
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from activities.channels import PermanentDeliveryError, TransientDeliveryError
from activities.channels.webhook import SIGNATURE_HEADER, WebhookChannel, WebhookSettings
from activities.rendering import Renderer
from schemas import Closure, Notification, Outcome
from tests.conftest import WorkerFactory
from tests.factories import request
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.notifications import notification_for
from workflows.domain.state import CollaborationState

SECRET = "webhook-test-secret"
TOKEN = "xoxb-9f8e7d6c5b4a-secret-path-token"  # a hook URL's path is its credential
RENDERER = Renderer("http://ui.example", "default")
DELIVERIES = """
SELECT n.event, d.status, d.attempts, d.result
FROM notifications n JOIN deliveries d USING (idempotency_key)
WHERE n.workflow_id = $1 ORDER BY split_part(n.idempotency_key, '/', 2)::int
"""


@dataclass
class Receiver:
    """Answers each request with the next status of `script` (the last one repeats)."""

    script: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: Counter[tuple[str, int]] = field(default_factory=Counter)  # (key, status) → count

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(self.delay)
        key = request.headers.get("Idempotency-Key", "")
        self.requests.append((dict(request.headers), body))
        seen = sum(n for (k, _), n in self.answered.items() if k == key)
        status = self.script[min(seen, len(self.script) - 1)]
        self.answered[key, status] += 1
        return web.Response(status=status, text="ok" if status == 200 else "nope")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A real HTTP server on a free loopback port; yields it and its URL."""
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    app.router.add_post("/hook/{path:.*}", target.handle)  # a chat hook's path: /services/T…/B…/token
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield target, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


def channel(url: str, secret: str | None = SECRET) -> WebhookChannel:
    return WebhookChannel(WebhookSettings(url, secret=secret, timeout=5), RENDERER)


async def start_and_close(env: WorkflowEnvironment, workflow_id: str, task_queue: str) -> None:
    handle = await start(env.client, workflow_id, task_queue, language="en")
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="<!channel> bye")
    )
    await handle.result()


async def test_webhook_posts_signed_chat_json(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    task_queue: str,
    workflow_id: str,
) -> None:
    """Two events → two POSTs of `{"text": ...}`, each with a valid HMAC-SHA256 signature."""
    target, url = receiver
    async with run_worker(dev_env.client, channels=[channel(url)]):
        await start_and_close(dev_env, workflow_id, task_queue)
    assert len(target.requests) == 2
    texts = []
    for headers, body in target.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
        assert headers["Content-Type"] == "application/json"
        payload = json.loads(body)
        assert list(payload) == ["text"]
        texts.append(payload["text"])
    started = next(t for t in texts if "Introduction" in t)
    closed = next(t for t in texts if "abandoned" in t)
    assert started.startswith("*[French Tech Corporate Community] Introduction: Natixis × Nabla*")
    assert f"http://ui.example/namespaces/default/workflows/{workflow_id}" in started
    assert "&lt;!channel&gt; bye" in closed and "<!channel>" not in closed


async def test_server_error_then_success_delivers_once(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """500 then 200: Temporal retries the activity, and each event is accepted exactly once."""
    target, url = receiver
    target.script = [500, 200]
    async with run_worker(dev_env.client, channels=[channel(url, secret=None)]):
        await start_and_close(dev_env, workflow_id, task_queue)
    assert sorted(target.answered.values()) == [1, 1, 1, 1]
    assert sum(n for (_, status), n in target.answered.items() if status == 200) == 2
    assert all(SIGNATURE_HEADER not in headers for headers, _ in target.requests), "no secret, no signature"
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"], r["attempts"]) for r in rows] == [
        ("started", "sent", 2),
        ("closed", "sent", 2),
    ]
    assert rows[0]["result"] == "HTTP 200 ok"


async def test_client_error_is_recorded_and_not_retried(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    receiver: tuple[Receiver, str],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """400: the delivery is marked failed after one request, and the workflow still completes."""
    target, url = receiver
    target.script = [400]
    async with run_worker(dev_env.client, channels=[channel(url)]):
        await start_and_close(dev_env, workflow_id, task_queue)
    assert len(target.requests) == 2, "one request per event, no retry loop"
    rows = await pool.fetch(DELIVERIES, workflow_id)
    assert [(r["event"], r["status"], r["attempts"]) for r in rows] == [
        ("started", "failed", 1),
        ("closed", "failed", 1),
    ]
    assert rows[0]["result"].startswith("HTTP 400 nope from http://127.0.0.1:")


async def test_slow_failing_or_absent_server_raises_for_temporal_to_retry(
    receiver: tuple[Receiver, str],
) -> None:
    """Timeout, 503, 429 and refused connections raise transient errors; 404 is permanent.

    No error names the hook's path: for Slack and Teams it is the credential.
    """
    target, base = receiver
    url = f"{base}/services/T0001/B0002/{TOKEN}"
    notification = example_notification()
    errors = []
    target.delay = 2.0
    with pytest.raises(TransientDeliveryError, match="ReadTimeout") as info:
        await WebhookChannel(WebhookSettings(url, timeout=0.2), RENDERER).send(notification)
    errors.append(info.value)
    target.delay = 0.0
    for status in (503, 429):
        target.script = [status]
        with pytest.raises(TransientDeliveryError, match=f"HTTP {status}") as info:
            await channel(url).send(notification)
        errors.append(info.value)
    target.script = [404]
    with pytest.raises(PermanentDeliveryError, match="HTTP 404") as permanent:
        await channel(url).send(notification)
    errors.append(permanent.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(TransientDeliveryError, match="ConnectError") as info:
        await channel(f"http://127.0.0.1:{closed_port}/hook/{TOKEN}").send(notification)
    errors.append(info.value)
    for error in errors:
        shown = f"{error} {error!r} {error.__cause__!r} {error.__context__!r}"
        assert TOKEN not in shown and "T0001" not in shown, shown
        assert "127.0.0.1" in str(error)  # where it went, without the path


def example_notification() -> Notification:
    """Return the `started` notification of the example collaboration."""
    state = CollaborationState.begin(request(), "collab-natixis-nabla", "run-1", datetime.now(UTC))
    found = notification_for(state, state.start_entry(state.started_at))
    assert found is not None
    return found
