"""Payload encryption end to end: Temporal's history holds ciphertext, every reader still reads it.

The worker and the starting client share the keys; a client WITHOUT them fetches the raw history
and must find neither the contact e-mail nor the note. The CLI and the codec server (as the Web UI
calls it) still read everything; the auditors' commands have their own tests
(`test_audit_encrypted.py`).
"""

import asyncio
import base64
import json
import os
import socket
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import aiohttp
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import client_for
from passerelle.platform.codec import EncryptionCodec, new_key
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.keys import parse_keys
from passerelle.platform.settings import load_settings
from schemas import Closure, Outcome, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

UI = "http://localhost:8233"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def key_env() -> str:
    return f"k2:{new_key()},k1:{new_key()}"


async def encrypted_lifecycle(client: Client, task_queue: str, workflow_id: str) -> tuple[str, str]:
    """Run a short lifecycle with a unique contact e-mail and note; return both."""
    email = f"confidential-{uuid.uuid4().hex[:8]}@startup.example"
    note = f"term sheet {uuid.uuid4().hex}: 120 kEUR"
    handle = await start(client, workflow_id, task_queue, startup={"name": "Nabla", "contact_email": email})
    await handle.execute_update(
        CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops", note=note)
    )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no budget")
    )
    await handle.result()
    return email, note


async def status_from_cli(address: str, keys: str, workflow_id: str) -> dict:
    """Run `passerelle status --json` with the keys in its environment; return its JSON."""
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "PASSERELLE_ENCRYPTION_KEYS": keys}
    cli = [str(Path(sys.executable).parent / "passerelle"), "status", workflow_id, "--json"]
    proc = await asyncio.create_subprocess_exec(*cli, env=env, stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return dict(json.loads(out))


async def test_history_holds_no_plaintext_yet_every_reader_reads_it(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    key_env: str,
    clear_client: Client,
) -> None:
    """Raw history: no e-mail, no note; the CLI and the codec server see both."""
    address = dev_env.client.service_client.config.target_host
    client = await client_for(load_settings({"PASSERELLE_ENCRYPTION_KEYS": key_env}), target_host=address)
    async with run_worker(client):  # a query needs a worker, even on a closed workflow
        email, note = await encrypted_lifecycle(client, task_queue, workflow_id)
        status = await status_from_cli(address, key_env, workflow_id)
    assert status["outcome"] == "declined" and status["history"][1]["note"] == note

    raw = await clear_client.get_workflow_handle(workflow_id).fetch_history()
    blob = raw.to_json().encode() + b"".join(e.SerializeToString() for e in raw.events)
    # Company names stay readable on purpose: they are search attributes (not personal data).
    for secret in (email, note):
        assert secret.encode() not in blob, f"{secret!r} is readable in the raw history"
    assert b"binary/encrypted" in blob and b"k2" in blob

    # The codec server, called as the Web UI calls it, decodes the start input.
    started = raw.events[0].workflow_execution_started_event_attributes.input
    port = free_port()
    runner = await start_codec_server(EncryptionCodec(parse_keys(key_env)), [UI], port=port)
    try:
        async with aiohttp.ClientSession() as http:
            body = json_format.MessageToJson(started)
            headers = {"Origin": UI, "X-Namespace": "default", "Content-Type": "application/json"}
            async with http.post(f"http://127.0.0.1:{port}/decode", data=body, headers=headers) as r:
                assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == UI
                decoded = json_format.Parse(await r.text(), Payloads())
    finally:
        await runner.cleanup()
    data = json.loads(decoded.payloads[0].data)
    assert data["startup"]["contact_email"] == email


async def test_codec_server_encodes_for_the_start_form_and_answers_cors_for_the_ui_only() -> None:
    """`/encode` seals what the UI's Start Workflow form sends; preflight is granted to the UI origin."""
    codec = EncryptionCodec(parse_keys(f"k1:{new_key()}"))
    port = free_port()
    runner = await start_codec_server(codec, [UI], port=port)
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'{"owner_email": "o@p.example"}').decode(),
            }
        ]
    }
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}"
            async with http.options(f"{url}/encode", headers={"Origin": UI}) as r:
                assert r.status == 200
                assert r.headers["Access-Control-Allow-Origin"] == UI
                assert "X-Namespace" in r.headers["Access-Control-Allow-Headers"]
            async with http.options(f"{url}/decode", headers={"Origin": "https://evil.example"}) as r:
                assert "Access-Control-Allow-Origin" not in r.headers
            async with http.post(f"{url}/encode", json=plain, headers={"Origin": UI}) as r:
                assert r.status == 200
                sealed = await r.json()
            assert "o@p.example" not in json.dumps(sealed)
            async with http.post(f"{url}/decode", json=sealed) as r:
                assert await r.json() == plain
            async with http.post(f"{url}/decode", json={"payloads": "nope"}) as r:
                assert r.status == 400 and "Payloads" in (await r.json())["error"]
    finally:
        await runner.cleanup()


async def test_an_invalid_start_fails_in_clear_without_its_value(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, key_env: str
) -> None:
    """An invalid start fails the workflow with a message anyone can read (the Web UI shows it)
    that names the field and the rule, while the value stays sealed in the start input."""
    address = dev_env.client.service_client.config.target_host
    client = await client_for(load_settings({"PASSERELLE_ENCRYPTION_KEYS": key_env}), target_host=address)
    async with run_worker(client):
        handle = await start(client, workflow_id, task_queue, owner_email="nobody-Tq7x")
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), timeout=15)
    assert "owner_email: value is not a valid email address" in str(info.value.cause)
    raw = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()  # raw events
    failed = [
        e.workflow_execution_failed_event_attributes.failure
        for e in raw.events
        if e.HasField("workflow_execution_failed_event_attributes")
    ]
    assert len(failed) == 1 and "owner_email: value is not a valid email address" in failed[0].message
    assert failed[0].stack_trace == "" and not failed[0].HasField("encoded_attributes")
    assert b"nobody-Tq7x" not in b"".join(e.SerializeToString() for e in raw.events), "the value stays sealed"
