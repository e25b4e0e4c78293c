"""Secrets are never logged: the worker process and the CLI run a lifecycle with a database
password, a Temporal API key and encryption keys in their environment, and none of them appears
in anything they print."""

import asyncio
import base64
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import client_for
from passerelle.platform.codec import new_key
from passerelle.platform.settings import load_settings
from tests.faults.helpers import WorkerProcess, full_lifecycle


async def test_no_password_api_key_or_encryption_key_in_any_output(
    dev_env: WorkflowEnvironment, postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    """Worker stdout/stderr and CLI output across a lifecycle hold none of the secrets."""
    password = f"pw-{uuid.uuid4().hex}"
    api_key = f"tak-{uuid.uuid4().hex}"
    current, old = new_key(), new_key()
    keys = f"k2:{current},k1:{old}"
    secrets = {
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
