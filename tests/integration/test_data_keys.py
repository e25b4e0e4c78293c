"""Per-collaboration data keys on a real PostgreSQL and Temporal (`passerelle.platform.keystore`).

What every path of the SDK seals, the cache's time limit, master key rotation, and the key
store failing: its database down while sealing (a client and a worker), or a key missing. A
failure is one clear error and is retried; nothing is ever sealed with another key, or sent in
clear, in its place.
"""

import asyncio
import dataclasses
import uuid

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import Run, fetch_chain
from passerelle.audit.keys import key_ids
from passerelle.platform.client import converter_for
from passerelle.platform.codec import new_key
from passerelle.platform.keys import parse_keys
from passerelle.platform.keystore import DataKeyDestroyed, KeyStore, KeyStoreUnavailable, UnknownDataKey
from passerelle.platform.settings import Settings
from schemas import MilestoneRequest
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.integration.processes import free_port
from tests.workflows.helpers import abandon, latest_status, start
from workflows.collaboration import CollaborationWorkflow

DOWN = "postgresql://passerelle@127.0.0.1:{port}/passerelle?connect_timeout=2"


def client_with(dev_env: WorkflowEnvironment, settings: Settings) -> Client:
    return Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=converter_for(settings),
    )


async def test_every_payload_of_a_collaboration_is_sealed_with_its_own_data_key(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str
) -> None:
    """Start input, updates and their answers, activity inputs and results, memo, the next run's
    input after continue-as-new: all under the chain's key, none under a master key or in clear."""
    tag = uuid.uuid4().hex[:8]
    ids = [f"keys-{tag}-{n}" for n in (1, 2)]
    async with run_worker(dev_env.client):
        handles = [
            await start(dev_env.client, wid, task_queue, continue_as_new_after_events=40) for wid in ids
        ]
        for n in range(4):
            await handles[0].execute_update(
                CollaborationWorkflow.record_milestone,
                MilestoneRequest(kind=f"step {n}", by="ops", note="x" * 50),
            )
        assert (await latest_status(dev_env.client, ids[0])).runs >= 2, "it continued as new"
        for handle in handles:
            await abandon(dev_env.client.get_workflow_handle(handle.id))
    chains = {wid: await fetch_chain(dev_env.client, wid) for wid in ids}
    used = {wid: key_ids(runs) for wid, runs in chains.items()}
    for wid, kids in used.items():
        assert len(kids) == 1 and next(iter(kids)).startswith("dk:"), (wid, kids)
    assert used[ids[0]] != used[ids[1]], "each collaboration has its own key"
    events = [e for runs in chains.values() for run in runs for e in run.events]
    kinds = {e.WhichOneof("attributes") for e in events}
    assert {"workflow_execution_continued_as_new_event_attributes", "activity_task_completed_event_attributes",
            "workflow_execution_update_completed_event_attributes"} <= kinds  # fmt: skip
    # In clear stay only what Temporal must read: search attributes and the SDK's patch markers.
    raw = b"".join(e.SerializeToString() for e in events)
    for plain in (EXAMPLE["startup"]["contact_email"], EXAMPLE["topic"], "x" * 50):
        assert plain.encode() not in raw


async def test_a_destroyed_key_stops_opening_payloads_within_the_cache_time_limit(
    postgres_url: str, settings: Settings
) -> None:
    reader = KeyStore(postgres_url, settings.encryption_keys, ttl=1.0)
    shredder = KeyStore(postgres_url, settings.encryption_keys, ttl=1.0)
    wid = f"ttl-{uuid.uuid4().hex[:8]}"
    try:
        key = await reader.current(wid)
        assert (await reader.key(key.key_id)) is key, "cached"
        await shredder.destroy(wid, "dpo", "test")
        await reader.key(key.key_id)  # still in this process's cache, for at most its time limit
        await asyncio.sleep(1.2)
        with pytest.raises(DataKeyDestroyed, match=f"erased: payload of {wid} .* by dpo"):
            await reader.key(key.key_id)
    finally:
        await reader.close()
        await shredder.close()


async def test_a_master_key_rotation_still_opens_the_data_keys_it_wrapped(
    postgres_url: str, settings: Settings
) -> None:
    old = KeyStore(postgres_url, settings.encryption_keys)
    rotated = KeyStore(postgres_url, [*parse_keys(f"next:{new_key()}"), *settings.encryption_keys])
    only_new = KeyStore(postgres_url, parse_keys(f"other:{new_key()}"))
    wid = f"rotate-{uuid.uuid4().hex[:8]}"
    try:
        key = await old.current(wid)
        assert (await rotated.key(key.key_id)).key_id == key.key_id
        with pytest.raises(ValueError, match="test"):  # the master key that wrapped it is named
            await only_new.key(key.key_id)
    finally:
        for store in (old, rotated, only_new):
            await store.close()


async def test_a_reader_gets_the_owner_of_a_key_this_process_sealed_with(
    pool: asyncpg.Pool, postgres_url: str, settings: Settings
) -> None:
    """A process that seals and serves readers (`passerelle dev` runs the worker and the codec
    server in one): the sealing path caches a shared-namespace chain's key without looking up
    whose it is; a reader's lookup reads its owner from the collaborations all the same."""
    store = KeyStore(postgres_url, settings.encryption_keys)
    wid, cid = f"owner-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    insert = (
        "INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,"
        " topic, stage, stage_since, stalled, paused, started_at, updated_at, last_seq, namespace)"
        " VALUES ($1, $2, 'Natixis', 'Nabla', $3, 'health', 't', 'pilot', now(), false,"
        " false, now(), now(), 1, $4)"
    )
    try:
        await pool.execute(insert, cid, wid, "Coalition Next", "default")
        # Another programme's workflow of the same id, in its own namespace, has chains of its own.
        await pool.execute(insert, str(uuid.uuid4()), wid, "Rival Programme", "passerelle-rival-programme")
        sealing = await store.current(wid)
        assert (await store.key(sealing.key_id)) is sealing, "the sealing path caches the key alone"
        assert await store.owner(sealing, "default") == "coalition-next", "a reader's lookup reads its owner"
        await pool.execute("UPDATE collaborations SET programme = 'Other' WHERE collaboration_id = $1", cid)
        assert await store.owner(sealing, "default") == "coalition-next", "then cached with it"
    finally:
        await store.close()


async def test_a_client_whose_key_store_is_down_starts_nothing(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    down = client_with(dev_env, dataclasses.replace(settings, database_url=DOWN.format(port=free_port())))
    wid = f"down-{uuid.uuid4().hex[:8]}"
    with pytest.raises(KeyStoreUnavailable, match=r"data keys: .*PostgreSQL"):
        await start(down, wid, task_queue)
    with pytest.raises(Exception, match="not found"):
        await dev_env.client.get_workflow_handle(wid).describe()


async def test_a_worker_whose_key_store_is_down_retries_and_never_writes_in_clear(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    settings: Settings,
    pool: asyncpg.Pool,
    task_queue: str,
) -> None:
    address = f"ana.{uuid.uuid4().hex[:8]}@nabla.example"
    wid = f"worker-down-{uuid.uuid4().hex[:8]}"
    handle = await start(
        dev_env.client, wid, task_queue, startup={**EXAMPLE["startup"], "contact_email": address}
    )
    down = client_with(dev_env, dataclasses.replace(settings, database_url=DOWN.format(port=free_port())))
    async with run_worker(down, pool=pool):
        await asyncio.sleep(4)  # its workflow tasks fail on the key store, and are retried
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failed, "the worker could not open the input: its workflow task failed"
    assert address.encode() not in b"".join(e.SerializeToString() for e in history.events)
    async with run_worker(dev_env.client):  # the key store is back: the same collaboration goes on
        status = await latest_status(dev_env.client, wid)
        assert status.stage == "introduction" and status.entries >= 1
        await abandon(handle)
    history = await handle.fetch_history()
    assert address.encode() not in b"".join(e.SerializeToString() for e in history.events)
    assert all(k.startswith("dk:") for k in key_ids([Run(wid, "", history)]))


async def test_a_missing_key_is_named_in_one_line(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    postgres_url: str,
    settings: Settings,
    task_queue: str,
) -> None:
    wid = f"missing-{uuid.uuid4().hex[:8]}"
    async with run_worker(dev_env.client):
        await abandon(await start(dev_env.client, wid, task_queue))
    (kid,) = {k.removeprefix("dk:") for k in key_ids(await fetch_chain(dev_env.client, wid))}
    await pool.execute("DELETE FROM data_keys WHERE key_id = $1", kid)
    fresh = KeyStore(postgres_url, settings.encryption_keys)  # nothing cached
    try:
        with pytest.raises(UnknownDataKey, match=f"data key '{kid}', which the key store does not hold"):
            await fresh.key(kid)
    finally:
        await fresh.close()
    shown = passerelle(dev_env.client, "audit", "timeline", wid)
    assert shown.returncode != 0 and "Traceback" not in shown.stderr
    assert f"data key '{kid}', which the key store does not hold" in shown.stderr, shown.stderr
