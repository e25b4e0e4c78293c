"""Auditors on encrypted collaborations, through the installed `passerelle audit` commands.

Production encrypts every payload, so each audit command must read an encrypted history, live and
from an export, with today's keys as they are after a rotation, and must say in one line which key
is missing rather than fail deep inside a decoder.
"""

import asyncio
from pathlib import Path
from subprocess import CompletedProcess

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import read_export
from passerelle.audit.keys import key_ids
from passerelle.platform.client import client_for
from passerelle.platform.codec import new_key
from passerelle.platform.settings import load_settings
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.e2e.cli import CRASH_MARKERS
from tests.replay.scenarios import ClientEnvironment, declined


async def keyed_client(dev_env: WorkflowEnvironment, keys: str) -> Client:
    """Return a client of the dev server that encrypts with `keys`."""
    settings = load_settings({"PASSERELLE_ENCRYPTION_KEYS": keys})
    return await client_for(settings, target_host=dev_env.client.service_client.config.target_host)


def assert_ok(result: CompletedProcess[str], *expected: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for text in expected:
        assert text in out, (text, out)


def assert_missing_key(result: CompletedProcess[str], key_id: str) -> None:
    """Exit 1 and exactly one `error:` line naming the key, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"key {key_id!r}" in lines[0] and "PASSERELLE_ENCRYPTION_KEYS" in lines[0], lines[0]
    assert not any(marker in result.stderr for marker in CRASH_MARKERS)


async def test_every_audit_command_reads_an_encrypted_collaboration_live_and_exported(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """export, replay, timeline, verify: on the live id and on the export folder, offline."""
    async with run_worker(dev_env.client):  # the suite's client: encrypted
        await declined(dev_env, workflow_id, task_queue)
    raw = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    assert b"binary/encrypted" in raw.events[0].SerializeToString(), "the history is encrypted"

    folder = f"{tmp_path}/export"
    assert_ok(passerelle(dev_env.client, "audit", "export", workflow_id, "--all-runs", "--out", folder))
    (sealed_with,) = key_ids(read_export(Path(folder)))
    assert sealed_with.startswith("dk:"), "the export keeps the ciphertext, under the collaboration's key"

    for source in (workflow_id, folder):
        assert_ok(passerelle(dev_env.client, "audit", "replay", source), "replayed 1, passed 1")
        assert_ok(passerelle(dev_env.client, "audit", "timeline", source), "outcome: declined")
        verified = passerelle(dev_env.client, "audit", "verify", source, database_url=postgres_url)
        assert_ok(verified, "all in Postgres once")
    # Offline: the export needs no Temporal at all.
    offline = passerelle(
        dev_env.client, "audit", "timeline", folder, "--format", "csv", TEMPORAL_ADDRESS="127.0.0.1:1"
    )
    assert_ok(offline, "outcome: declined", "time_in_stage")


async def test_rotated_keys_read_old_histories_and_a_missing_key_is_one_line(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """Written with `old`; audited with `new,old` it passes; with `new` alone, one line names `old`."""
    old, new = f"old:{new_key()}", f"new:{new_key()}"
    writer = await keyed_client(dev_env, old)
    async with run_worker(writer):
        await declined(ClientEnvironment(writer, dev_env.sleep), workflow_id, task_queue)
    folder = f"{tmp_path}/export"
    assert_ok(
        passerelle(writer, "audit", "export", workflow_id, "--out", folder, PASSERELLE_ENCRYPTION_KEYS=new)
    )

    rotated = {"PASSERELLE_ENCRYPTION_KEYS": f"{new},{old}"}
    for source in (workflow_id, folder):
        assert_ok(passerelle(writer, "audit", "replay", source, **rotated), "passed 1")
        assert_ok(passerelle(writer, "audit", "timeline", source, **rotated), "outcome: declined")
        assert_ok(passerelle(writer, "audit", "verify", source, database_url=postgres_url, **rotated))

    dropped = {"PASSERELLE_ENCRYPTION_KEYS": new}
    for source in (workflow_id, folder):
        assert_missing_key(passerelle(writer, "audit", "replay", source, **dropped), "old")
        assert_missing_key(passerelle(writer, "audit", "timeline", source, **dropped), "old")
        assert_missing_key(
            passerelle(writer, "audit", "verify", source, database_url=postgres_url, **dropped), "old"
        )
    query = ["--query", f'WorkflowId = "{workflow_id}"']
    assert_missing_key(passerelle(writer, "audit", "replay", *query, **dropped), "old")
    # No keys at all (a clear deployment's auditor handed an encrypted export): the same line.
    clear = {"PASSERELLE_ENCRYPTION_KEYS": "", "PASSERELLE_STATE_DIR": str(tmp_path)}
    assert_missing_key(passerelle(writer, "audit", "replay", folder, **clear), "old")


async def test_replay_query_over_encrypted_and_clear_histories_passes(
    dev_env: WorkflowEnvironment,
    clear_client: Client,
    run_worker: WorkerFactory,
    task_queue: str,
) -> None:
    """A namespace that switched encryption on holds both kinds; one replay reads them all."""
    ids = [f"mixed-clear-{task_queue}", f"mixed-sealed-{task_queue}"]
    async with run_worker(clear_client):
        await declined(ClientEnvironment(clear_client, dev_env.sleep), ids[0], task_queue)
    async with run_worker(dev_env.client):
        await declined(dev_env, ids[1], task_queue)
    clear_start = (await clear_client.get_workflow_handle(ids[0]).fetch_history()).events[0]
    assert b"binary/encrypted" not in clear_start.SerializeToString()
    query = f'WorkflowId = "{ids[0]}" OR WorkflowId = "{ids[1]}"'
    for _ in range(50):  # visibility is eventually consistent
        if len([w async for w in dev_env.client.list_workflows(query)]) == 2:
            break
        await asyncio.sleep(0.2)
    result = passerelle(dev_env.client, "audit", "replay", "--query", query)
    assert_ok(result, "replayed 2, passed 2, non-deterministic 0")
