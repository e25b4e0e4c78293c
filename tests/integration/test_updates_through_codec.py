"""Updates sent as the Web UI sends them land across continue-as-new, a re-key and an erasure.

The Temporal CLI with `--codec-endpoint` (the Web UI's path: its payloads sealed by the codec
server, under the master key) sends `record_milestone` to three collaborations at once, each
continuing-as-new every few dozen events; one of them is erased (and so re-keyed) half-way. When
an update reaches a run that continues-as-new, the server aborts it and the CLI retries it with its
input sealed a second time: the worker opens every layer (`passerelle.platform.codec.MAX_LAYERS`),
so every update is accepted and recorded exactly once.
"""

import asyncio
import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.devstack.servers import find_binary
from passerelle.platform.client import codec_for
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.settings import Settings
from schemas import Closure, Outcome
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.processes import free_port
from tests.workflows.helpers import latest_status, start
from workflows.collaboration import CollaborationWorkflow

UPDATES = 70  # per collaboration: each run holds about a dozen before it continues-as-new
NOTE = "Steering committee: " + "budget, scope, data access. " * 100  # 3,000 characters


def send(address: str, codec: str, workflow_id: str, n: int) -> subprocess.CompletedProcess[str]:
    """Send one milestone through the Temporal CLI and the codec server, as the Web UI would."""
    data = json.dumps({"kind": f"m{n}", "by": "ops@programme.example", "note": NOTE})
    args = ["workflow", "update", "execute", "--name", "record_milestone", "-w", workflow_id, "--input", data]
    return subprocess.run(
        [find_binary("temporal"), *args, "--codec-endpoint", codec, "--address", address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_updates_through_the_codec_server_land_across_continue_as_new_and_erasure(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [f"codec-updates-{tag}-{n}" for n in range(3)]
    erased, replacement = f"ana.{tag}@nabla.example", f"partners.{tag}@nabla.example"
    port = free_port()
    codec = f"http://127.0.0.1:{port}"
    runner = await start_codec_server(codec_for(settings), ["http://localhost:8233"], "127.0.0.1", port)
    address = dev_env.client.service_client.config.target_host

    def one_collaboration(workflow_id: str) -> list[str]:
        failures = []
        for n in range(UPDATES):
            done = send(address, codec, workflow_id, n)
            if done.returncode != 0:
                failures.append(f"{workflow_id} m{n}: {done.stderr.strip()}")
            if workflow_id == ids[1] and n == UPDATES // 2:
                erase = passerelle(
                    dev_env.client, "privacy", "erase", "--email", erased, "--by", "dpo",
                    "--reason", "request", "--replacement", replacement,
                )  # fmt: skip
                if erase.returncode != 0:
                    failures.append(f"erasure: {erase.stdout} {erase.stderr}")
        return failures

    try:
        async with run_worker(dev_env.client):
            for workflow_id in ids:
                startup = {
                    "name": "Nabla",
                    "contact_email": erased if workflow_id == ids[1] else "s@nabla.example",
                }
                await start(
                    dev_env.client, workflow_id, task_queue, startup=startup, continue_as_new_after_events=60
                )
            loop = asyncio.get_running_loop()
            with ThreadPoolExecutor(max_workers=len(ids)) as threads:
                results = await asyncio.gather(
                    *(loop.run_in_executor(threads, one_collaboration, w) for w in ids)
                )
            statuses = [await latest_status(dev_env.client, w) for w in ids]
            for workflow_id in ids:
                await dev_env.client.get_workflow_handle(workflow_id).execute_update(
                    CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
                )
    finally:
        await runner.cleanup()
    assert [f for found in results for f in found] == []
    assert all(s.runs >= 4 for s in statuses), [s.runs for s in statuses]
    assert statuses[1].erased_parties == [] and not statuses[1].erasure_under_way
    for workflow_id in ids:
        kinds = await pool.fetch(
            "SELECT milestone, count(*) FROM milestones WHERE workflow_id = $1 AND kind = 'milestone' GROUP BY 1",
            workflow_id,
        )
        assert {r[0]: r[1] for r in kinds} == {f"m{n}": 1 for n in range(UPDATES)}, workflow_id
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM data_keys WHERE workflow_id = $1 AND destroyed_at IS NULL", ids[1]
        )
        == 1
    ), "the erased collaboration moved to one new key"
