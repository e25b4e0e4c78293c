"""Worker crashes: SIGKILL `passerelle worker` 12 times while 50 collaborations run full lifecycles.

Production configuration (encryption on, worker as a child process, the real dev server and
PostgreSQL). After a last restart every collaboration completes with exactly its rows, and every
notification is recorded once per idempotency key and sent on its channel.
"""

import asyncio
import random
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import client_for
from passerelle.platform.codec import new_key
from passerelle.platform.settings import load_settings
from tests.faults.helpers import WorkerProcess, assert_exact_rows, expected_keys, full_lifecycle, settle

SEED = 20261126
COLLABORATIONS = 50
KILLS = 8
TIMEOUTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
}


async def test_sigkilled_worker_loses_and_doubles_nothing(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    """8 SIGKILLs at seeded random points; all 50 complete; rows and deliveries exact."""
    keys = f"crash:{new_key()}"
    client = await client_for(
        load_settings({"PASSERELLE_ENCRYPTION_KEYS": keys, "PASSERELLE_DATABASE_URL": postgres_url}),
        target_host=dev_env.client.service_client.config.target_host,
    )
    worker = WorkerProcess(
        {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "PASSERELLE_DATABASE_URL": postgres_url,
            "PASSERELLE_TASK_QUEUE": task_queue,
            "PASSERELLE_ENCRYPTION_KEYS": keys,
            "PASSERELLE_CHANNELS": "log",
        },
        tmp_path / "worker.log",
    )
    rng = random.Random(SEED)
    ids = [f"crash-{uuid.uuid4().hex[:8]}-{i}" for i in range(COLLABORATIONS)]
    runs = [
        asyncio.create_task(full_lifecycle(client, wid, task_queue, random.Random(SEED + i)))
        for i, wid in enumerate(ids)
    ]
    try:
        for kill in range(KILLS):
            await worker.start()
            if kill % 5 == 4:  # every fifth kill lands during start-up (connect, migration check)
                await asyncio.sleep(rng.uniform(0.0, 0.5))
            else:  # the others mid-work, however slow the machine is to start a worker
                await worker.running()
                await asyncio.sleep(rng.uniform(0.1, 1.2))
            await worker.kill()
        await worker.start()
        statuses = await asyncio.wait_for(asyncio.gather(*runs), timeout=150)
        await settle(pool, ids)
    finally:
        code = await worker.stop()
        for run in runs:
            run.cancel()
    assert code == 0, "the last worker shuts down cleanly"
    assert worker.starts == KILLS + 1
    assert all(s.outcome == "deployed" for s in statuses)

    deliveries = await assert_exact_rows(pool, ids)
    keys_expected = expected_keys(statuses)
    assert {d["idempotency_key"] for d in deliveries} == keys_expected
    assert len(deliveries) == len(keys_expected), "one delivery row per key and channel"
    assert all(d["status"] == "sent" for d in deliveries)

    sent = Counter(line["key"] for line in worker.lines() if line.get("event") == "notification")
    assert set(sent) == keys_expected, "every notification reached the channel"
    duplicates = sum(n - 1 for n in sent.values())
    # At-least-once at the very edge: a kill between a send and its mark may send once more.
    assert duplicates <= KILLS, f"{duplicates} duplicate sends for {KILLS} kills"

    interrupted = 0
    for wid in ids[:COLLABORATIONS]:
        history = await client.get_workflow_handle(wid).fetch_history()
        interrupted += sum(1 for e in history.events if e.event_type in TIMEOUTS)
    assert interrupted > 0, "the kills must have interrupted some work, or the test proves nothing"
    print(f"kills={KILLS} interrupted tasks={interrupted} duplicate sends={duplicates}")
