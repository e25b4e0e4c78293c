"""A collaboration whose start input is invalid says why, in clear, wherever an operator looks.

Started as the Web UI starts it (the Temporal CLI with `--codec-endpoint`, its input sealed by
the codec server) with addresses that are not addresses: the run fails at once, and
`temporal workflow describe` (with the codec or without), `passerelle status` and
`passerelle list --failed` all name the fields and the rule, never the values typed.
"""

import asyncio
import json
import subprocess
import uuid

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from passerelle.devstack.servers import find_binary
from passerelle.platform.client import codec_for
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.settings import Settings
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.processes import free_port

RULE = "startup.contact_email: value is not a valid email address: An email address must have an @-sign."


def temporal(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_binary("temporal"), *args, "--address", address], capture_output=True, text=True, timeout=60
    )


async def test_a_failed_start_reads_in_clear_without_its_values(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, settings: Settings, task_queue: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    workflow_id, typed, owner = f"failed-start-{tag}", f"ana-{tag}-at-nabla", f"owner-{tag}"
    request = {
        "corporate": {"name": "Natixis", "contact_email": "innovation@natixis.example"},
        "startup": {"name": "Nabla", "contact_email": typed},
        "programme": "French Tech Corporate Community",
        "topic": "Clinical note summarisation pilot",
        "sector": "health",
        "owner_email": owner,
    }
    port = free_port()
    codec = f"http://127.0.0.1:{port}"
    address = dev_env.client.service_client.config.target_host
    runner = await start_codec_server(codec_for(settings), ["http://localhost:8233"], "127.0.0.1", port)
    try:
        async with run_worker(dev_env.client):
            started = await asyncio.to_thread(
                temporal, address, "workflow", "start", "--type", "CollaborationWorkflow",
                "--task-queue", task_queue, "-w", workflow_id, "--input", json.dumps(request),
                "--codec-endpoint", codec,
            )  # fmt: skip
            assert started.returncode == 0, started.stderr
            try:
                await dev_env.client.get_workflow_handle(workflow_id).result()
                raise AssertionError("an invalid start input must fail the run")
            except WorkflowFailureError:
                pass
            with_codec = await asyncio.to_thread(
                temporal, address, "workflow", "describe", "-w", workflow_id, "--codec-endpoint", codec
            )
            without = await asyncio.to_thread(temporal, address, "workflow", "describe", "-w", workflow_id)
            status = await asyncio.to_thread(passerelle, dev_env.client, "status", workflow_id)
            listed: list[dict[str, object]] = []
            for _ in range(50):  # the visibility store catches up within moments
                shown = await asyncio.to_thread(passerelle, dev_env.client, "list", "--failed", "--json")
                assert shown.returncode == 0, shown.stderr
                listed = [r for r in json.loads(shown.stdout) if r["workflow_id"] == workflow_id]
                if listed:
                    break
                await asyncio.sleep(0.2)
            table = await asyncio.to_thread(passerelle, dev_env.client, "list", "--failed")
    finally:
        await runner.cleanup()

    for described in (with_codec, without):
        assert described.returncode == 0, described.stderr
        assert (
            RULE in described.stdout and "owner_email: value is not a valid email address" in described.stdout
        )
        assert "Encoded failure" not in described.stdout
        assert typed not in described.stdout and owner not in described.stdout, "the failure quotes no value"

    assert status.returncode == 1 and status.stdout == ""
    assert status.stderr.count("\n") == 1 and status.stderr.startswith(f"error: {workflow_id} failed: ")
    assert RULE in status.stderr and typed not in status.stderr and owner not in status.stderr

    assert len(listed) == 1 and listed[0]["status"] == "failed", listed
    reason = str(listed[0]["reason"])
    assert RULE in reason and typed not in reason and owner not in reason
    assert workflow_id in table.stdout and "startup.contact_email" in table.stdout
