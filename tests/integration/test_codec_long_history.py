"""A long history reads through the codec server: `temporal workflow show --codec-endpoint` decodes
every event of a 4,000-event run, as `passerelle dev`, a token-holding caller and compose serve it.

The `temporal` CLI sends one /decode request per payload, about 3,500 for such a run, within two
seconds; each must be answered within the CLI's own deadline (10 s for a page of history), so the
codec server's rate has to let one caller read a whole run at once (docs/security.md).
"""

import asyncio
import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.devstack.servers import find_binary
from passerelle.platform.client import codec_for
from passerelle.platform.codec_auth import codec_auth_from
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.settings import Settings, load_settings
from passerelle.platform.worker import build_worker
from tests.histories import grow
from tests.integration.test_encryption import free_port
from tests.network import lan_address
from tests.workflows.helpers import abandon, start

EVENTS = 4_000
UI = "http://localhost:8233"
TOKEN = "long-history-token-" + "x" * 24


@dataclass(frozen=True)
class LongRun:
    """A run of at least `EVENTS` events, and the milestone kinds its updates recorded."""

    address: str
    workflow_id: str
    run_id: str
    kinds: frozenset[str]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def long_run(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[LongRun]:
    """A collaboration grown to `EVENTS` events on the dev server, by a real worker, encrypted."""
    task_queue, workflow_id = f"tq-{uuid.uuid4()}", f"collab-long-{uuid.uuid4()}"
    worker_settings = load_settings({**os.environ, "PASSERELLE_TASK_QUEUE": task_queue})
    worker = build_worker(dev_env.client, pool, worker_settings, [LogChannel()])
    async with worker:
        handle = await start(dev_env.client, workflow_id, task_queue)
        kinds = await grow(handle, EVENTS)
        description = await handle.describe()
        assert description.status is not None and description.status.name == "RUNNING", "it continued-as-new"
        address = dev_env.client.service_client.config.target_host
        yield LongRun(address, workflow_id, description.run_id, frozenset(kinds))
        await abandon(handle)


def show(run: LongRun, endpoint: str, *auth: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `temporal workflow show --codec-endpoint ENDPOINT --output json`; return it and its time."""
    command = [find_binary("temporal"), "workflow", "show", "-w", run.workflow_id, "-r", run.run_id]
    command += ["--address", run.address, "--codec-endpoint", endpoint, "--output", "json", *auth]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    return done, time.monotonic() - began


def payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every payload (`{"metadata": {...}, "data": ...}`) in a JSON history."""
    if isinstance(node, dict):
        if "metadata" in node and "encoding" in node["metadata"]:
            yield node
        for value in node.values():
            yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


def assert_read_in_clear(run: LongRun, done: subprocess.CompletedProcess[str], seconds: float) -> None:
    """The CLI answered, every event is there, and every payload reads: each milestone's kind too."""
    assert done.returncode == 0, f"after {seconds:.1f}s: {done.stderr[-2000:]}"
    history = json.loads(done.stdout)
    assert len(history["events"]) >= EVENTS
    found = list(payloads(history))
    encodings = {base64.b64decode(p["metadata"]["encoding"]).decode() for p in found}
    assert "binary/encrypted" not in encodings and "json/plain" in encodings, encodings
    kinds = set()
    for event in history["events"]:
        accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
        if accepted and accepted["acceptedRequest"]["input"]["name"] == "record_milestone":
            (payload,) = accepted["acceptedRequest"]["input"]["args"]["payloads"]
            kinds.add(json.loads(base64.b64decode(payload["data"]))["kind"])
    assert kinds == run.kinds


async def test_passerelle_dev_codec_server_reads_a_4000_event_history(
    long_run: LongRun, settings: Settings
) -> None:
    """As `passerelle dev` serves it: loopback, no token."""
    codec, port = codec_for(settings), free_port()
    assert codec is not None
    runner = await start_codec_server(codec, [UI], "127.0.0.1", port)
    try:
        done, seconds = await asyncio.to_thread(show, long_run, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
    assert_read_in_clear(long_run, done, seconds)


async def test_a_token_holder_reads_a_4000_event_history_at_the_default_rate(
    long_run: LongRun, settings: Settings
) -> None:
    """As a deployment serves the CLI: a static token, the rate read from an environment without one."""
    codec, port = codec_for(settings), free_port()
    assert codec is not None
    auth = codec_auth_from({"PASSERELLE_CODEC_TOKEN": TOKEN})
    runner = await start_codec_server(codec, [UI], "127.0.0.1", port, auth)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        done, seconds = await asyncio.to_thread(show, long_run, endpoint, "--codec-auth", f"Bearer {TOKEN}")
    finally:
        await runner.cleanup()
    assert_read_in_clear(long_run, done, seconds)


async def test_compose_codec_server_reads_a_4000_event_history(long_run: LongRun, settings: Settings) -> None:
    """As docker-compose serves it: no token, `--allow-unauthenticated`, callers from another address
    than loopback (compose's published port reaches the container from Docker's gateway)."""
    host = lan_address()
    if host is None:
        pytest.skip("no network address beside loopback: compose's caller address cannot be played")
    codec, port = codec_for(settings), free_port()
    assert codec is not None
    runner = await start_codec_server(
        codec, [UI], host, port, codec_auth_from({}), allow_unauthenticated=True
    )
    try:
        done, seconds = await asyncio.to_thread(show, long_run, f"http://{host}:{port}")
    finally:
        await runner.cleanup()
    assert_read_in_clear(long_run, done, seconds)
