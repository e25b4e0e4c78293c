"""`passerelle setup` (the compose `setup` one-off): search attributes and the digest Schedule, idempotently."""

import asyncio
import subprocess

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.schedules import DIGEST_SCHEDULE_ID
from tests.integration.processes import PASSERELLE, fresh_namespace, worker_env
from workflows import search_attributes


def setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `passerelle setup` as the compose one-off does."""
    return subprocess.run(
        [PASSERELLE, "setup"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_setup_registers_missing_search_attributes_once(
    dev_env: WorkflowEnvironment, postgres_url: str, task_queue: str
) -> None:
    """On a new namespace the first run registers all eight attributes; the second finds them present."""
    namespace = await fresh_namespace(dev_env.client)
    env = worker_env(dev_env.client, postgres_url, task_queue, TEMPORAL_NAMESPACE=namespace)
    first = await asyncio.to_thread(setup, env)
    second = await asyncio.to_thread(setup, env)
    assert first.returncode == 0, first.stderr
    names = sorted(key.name for key in search_attributes.ALL)
    assert f"search attributes in {namespace}: registered {', '.join(names)}" in first.stdout
    assert second.returncode == 0, second.stderr
    assert f"search attributes in {namespace}: all present" in second.stdout
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {k.name: k.indexed_value_type for k in search_attributes.ALL}.items() <= dict(
        listed.custom_attributes
    ).items()


async def test_setup_reports_an_unreachable_server_in_one_line(task_queue: str) -> None:
    """No Temporal at the address: exit 1 and one clear line naming it."""
    env = {"PATH": "/usr/bin:/bin", "TEMPORAL_ADDRESS": "127.0.0.1:1", "PASSERELLE_TASK_QUEUE": task_queue}
    done = await asyncio.to_thread(setup, env)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach Temporal at 127.0.0.1:1")


async def test_setup_encrypts_the_digest_and_keeps_an_operators_pause(
    dev_env: WorkflowEnvironment, clear_client: Client, postgres_url: str, task_queue: str
) -> None:
    """The action's recipients are ciphertext; a paused digest stays paused, note kept, over two setups."""
    namespace = await fresh_namespace(dev_env.client)
    env = worker_env(dev_env.client, postgres_url, task_queue, TEMPORAL_NAMESPACE=namespace)
    env["PASSERELLE_OPERATOR_EMAILS"] = "ops-lead@programme.example"
    assert (await asyncio.to_thread(setup, env)).returncode == 0
    raw = Client(clear_client.service_client, namespace=namespace, data_converter=clear_client.data_converter)
    handle = raw.get_schedule_handle(DIGEST_SCHEDULE_ID)
    action = (await handle.describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert [p.metadata["encoding"] for p in action.args] == [b"binary/encrypted"]
    # Sealed with the data key of the Schedule's workflow id, like any collaboration's payload.
    assert action.args[0].metadata["encryption-key-id"].startswith(b"dk:")
    assert b"ops-lead" not in b"".join(p.SerializeToString() for p in action.args)

    await handle.pause(note="paused during the summer break")
    again = [await asyncio.to_thread(setup, env) for _ in range(2)]
    assert all(done.returncode == 0 for done in again), again
    assert f"schedule {DIGEST_SCHEDULE_ID} unchanged" in again[0].stdout
    changed = await asyncio.to_thread(setup, {**env, "PASSERELLE_DIGEST_CRON": "0 9 * * 1"})
    assert f"schedule {DIGEST_SCHEDULE_ID} updated (cron)" in changed.stdout, changed
    state = (await handle.describe()).schedule.state
    assert state.paused and state.note == "paused during the summer break"
