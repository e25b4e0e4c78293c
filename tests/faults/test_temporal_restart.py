"""Temporal restart: the dev server (SQLite file) stops mid-run and comes back; workflows resume.

A dev server of this test's own (`TemporalDevServer`, free ports, its own `--db-filename`), so the
session's servers are untouched. The worker and the client stay up across the restart: the SDK
reconnects on its own.
"""

import asyncio
import os
import socket
import uuid
from pathlib import Path

import asyncpg

from activities.channels.log import LogChannel
from passerelle.devstack.servers import TemporalDevServer
from passerelle.platform.settings import load_settings
from passerelle.platform.worker import build_worker
from tests.faults.helpers import assert_exact_rows, full_lifecycle, settle

COLLABORATIONS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_workflows_resume_after_the_temporal_server_restarts(
    pool: asyncpg.Pool, task_queue: str, tmp_path: Path
) -> None:
    """Stop the server mid-run, start it on the same file: every lifecycle completes, rows exact."""
    server = TemporalDevServer(tmp_path / "temporal", port=free_port(), ui_port=free_port())
    server.start()
    try:
        settings = load_settings({**os.environ, "PASSERELLE_TASK_QUEUE": task_queue})
        client = await server.connect(settings)
        ids = [f"restart-{uuid.uuid4().hex[:8]}-{i}" for i in range(COLLABORATIONS)]
        async with build_worker(client, pool, settings, [LogChannel()]):
            runs = [asyncio.create_task(full_lifecycle(client, wid, task_queue)) for wid in ids]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(server.stop)
            assert not all(r.done() for r in runs), "the restart must catch lifecycles in flight"
            await asyncio.sleep(2)
            server.start()
            await server.connect(settings)
            statuses = await asyncio.wait_for(asyncio.gather(*runs), timeout=120)
            await settle(pool, ids)
        assert all(s.outcome == "deployed" for s in statuses)
        deliveries = await assert_exact_rows(pool, ids)
        assert all(d["status"] == "sent" for d in deliveries)
    finally:
        await asyncio.to_thread(server.stop)
