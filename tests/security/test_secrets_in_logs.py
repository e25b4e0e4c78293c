"""Secrets are never logged: the worker process and the CLI run a lifecycle with a database
password, a Temporal API key, encryption keys and the portal's link key in their environment, and none of them appears
in anything they print."""

import asyncio
import base64
import os
import socket
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncpg
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import client_for
from passerelle.platform.codec import new_key
from passerelle.platform.settings import load_settings
from tests.faults.helpers import WorkerProcess, full_lifecycle
from tests.workflows.helpers import start


async def test_no_password_api_key_or_encryption_key_in_any_output(
    dev_env: WorkflowEnvironment, postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    """Worker stdout/stderr and CLI output across a lifecycle hold none of the secrets."""
    password = f"pw-{uuid.uuid4().hex}"
    api_key = f"tak-{uuid.uuid4().hex}"
    current, old, portal = new_key(), new_key(), new_key()
    keys = f"k2:{current},k1:{old}"
    secrets = {
        "portal link key": portal,
        "database password": password,
        "API key": api_key,
        "current key": current,
        "old key": old,
        "current key (hex)": base64.b64decode(current).hex(),
    }
    assert "postgres:@" in postgres_url  # trust auth on the socket: any password is accepted
    env = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_API_KEY": api_key,
        "TEMPORAL_TLS": "false",  # the local dev server speaks plain gRPC
        "PASSERELLE_DATABASE_URL": postgres_url.replace("postgres:@", f"postgres:{password}@"),
        "PASSERELLE_TASK_QUEUE": task_queue,
        "PASSERELLE_ENCRYPTION_KEYS": keys,
        "PASSERELLE_PORTAL_KEYS": f"p1:{portal}",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    client = await client_for(load_settings(env))
    wid = f"secrets-{uuid.uuid4().hex[:8]}"
    await worker.start()
    try:
        status = await asyncio.wait_for(full_lifecycle(client, wid, task_queue), timeout=60)
        cli = [str(Path(sys.executable).parent / "passerelle"), "status", wid]
        proc = await asyncio.create_subprocess_exec(*cli, env={**os.environ, **env}, stdout=PIPE, stderr=PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        assert await worker.stop() == 0
    assert status.outcome == "deployed" and proc.returncode == 0, err.decode()
    worker_output = worker.log.read_text()
    assert "worker running" in worker_output and "notification" in worker_output  # it did log
    for where, text in {"worker": worker_output, "CLI": (out + err).decode()}.items():
        for name, secret in secrets.items():
            assert secret not in text, f"the {name} appears in the {where} output"


async def test_no_channel_secret_in_logs_records_or_history(
    dev_env: WorkflowEnvironment, postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    """Every channel failing transiently: the webhook URL's path (its credential), the webhook
    signing secret and the SMTP password appear in no log line, no `deliveries` row and no
    failure Temporal keeps (the pending activities' last failure, decoded with the keys)."""
    token, signing, smtp_password = (f"{name}-{uuid.uuid4().hex}" for name in ("tok", "sig", "smtp"))
    hits: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=503, text=f"upstream down for {request.path}")  # echoes the path

    app = web.Application()
    app.router.add_post("/{path:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook = f"http://127.0.0.1:{runner.addresses[0][1]}/services/T01/B02/{token}"
    with socket.socket() as s:  # nothing listens there: every SMTP attempt is refused
        s.bind(("127.0.0.1", 0))
        smtp_port = s.getsockname()[1]
    keys = f"k1:{new_key()}"
    env = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PASSERELLE_DATABASE_URL": postgres_url,
        "PASSERELLE_TASK_QUEUE": task_queue,
        "PASSERELLE_ENCRYPTION_KEYS": keys,
        "PASSERELLE_CHANNELS": "webhook,smtp",
        "PASSERELLE_WEBHOOK_URL": hook,
        "PASSERELLE_WEBHOOK_SECRET": signing,
        "PASSERELLE_SMTP_HOST": "127.0.0.1",
        "PASSERELLE_SMTP_PORT": str(smtp_port),
        "PASSERELLE_SMTP_TLS": "none",
        "PASSERELLE_SMTP_USERNAME": "mailer",
        "PASSERELLE_SMTP_PASSWORD": smtp_password,
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    client = await client_for(load_settings(env))
    wid = f"channel-secrets-{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=1)
    await worker.start()
    try:
        await worker.running()  # migrated: the deliveries table exists
        handle = await start(client, wid, task_queue)
        failures: list[str] = []
        for _ in range(120):  # until both channels have failed at least twice and Temporal kept it
            rows = await pool.fetch(
                "SELECT d.channel, d.attempts, d.last_error FROM deliveries d JOIN notifications n "
                "USING (idempotency_key) WHERE n.workflow_id = $1",
                wid,
            )
            pending = (await handle.describe()).raw_description.pending_activities
            failures = [
                str(await client.data_converter.decode_failure(p.last_failure))
                for p in pending
                if p.HasField("last_failure")
            ]
            if len(rows) == 2 and all(r["attempts"] >= 2 and r["last_error"] for r in rows) and failures:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"the channels did not fail as planned: {rows}, {failures}")
        await handle.terminate("test over")
    finally:
        assert await worker.stop() == 0
        await pool.close()
        await runner.cleanup()
    assert hits and all(token in path for path in hits)  # the hook was really called at its path
    records = {f"{r['channel']}: {r['last_error']}" for r in rows}
    assert any("HTTP 503" in r for r in records) and any("smtp" in r for r in records), records
    places = {
        "worker log": worker.log.read_text(),
        "deliveries": "\n".join(records),
        "history": "\n".join(failures),
    }
    for where, text in places.items():
        for name, secret in {
            "hook token": token,
            "signing secret": signing,
            "SMTP password": smtp_password,
        }.items():
            at = text.find(secret)
            assert at < 0, f"the {name} appears in the {where}:\n{text[max(0, at - 1500) : at + 200]}"
