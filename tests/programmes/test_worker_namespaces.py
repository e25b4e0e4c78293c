"""One worker process serves the shared namespace and every programme's, including one added
while it runs."""

import asyncio
import dataclasses
import uuid

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import client_in
from passerelle.platform.provision import ensure_search_attributes, register_programme, until_served
from passerelle.platform.settings import Settings
from passerelle.platform.worker import run_worker
from schemas.actors import programme_slug
from tests.e2e.cli import eventually
from tests.workflows.helpers import start


async def test_a_programme_added_while_the_worker_runs_is_served_within_the_poll(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, task_queue: str
) -> None:
    programme = f"Late {uuid.uuid4().hex[:8]}"
    config = dev_env.client.service_client.config
    worker_settings = dataclasses.replace(
        settings,
        temporal={"target_host": config.target_host, "namespace": dev_env.client.namespace},
        task_queue=task_queue,
        programme_poll_seconds=0.5,
        actors="declared",
    )
    ready, stop = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(run_worker(worker_settings, stop=stop, on_ready=ready.set))
    try:
        await asyncio.wait_for(ready.wait(), 60)
        namespace = settings.namespaces.of(programme)
        assert await register_programme(dev_env.client, programme, namespace, 1)
        client = client_in(dev_env.client, namespace)
        await until_served(client)
        await ensure_search_attributes(client)
        shared_id, own_id = f"shared-{uuid.uuid4().hex[:8]}", f"own-{uuid.uuid4().hex[:8]}"
        await start(dev_env.client, shared_id, task_queue, programme=programme)
        await start(client, own_id, task_queue, programme=programme)

        async def recorded() -> list[asyncpg.Record]:
            rows = await pool.fetch(
                "SELECT workflow_id, namespace, programme_slug FROM collaborations"
                " WHERE workflow_id = ANY($1::text[]) ORDER BY workflow_id",
                [shared_id, own_id],
            )
            assert len(rows) == 2, rows
            return rows

        rows = await eventually(recorded)
        assert [(r["workflow_id"], r["namespace"]) for r in rows] == [
            (own_id, namespace),
            (shared_id, dev_env.client.namespace),
        ]
        assert {r["programme_slug"] for r in rows} == {programme_slug(programme)}
        keys = await pool.fetch(
            "SELECT workflow_id, programme FROM data_keys WHERE workflow_id = ANY($1::text[])",
            [shared_id, own_id],
        )
        assert {(k["workflow_id"], k["programme"]) for k in keys} == {
            (shared_id, ""),
            (own_id, programme_slug(programme)),
        }, "each chain is its namespace's"
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)
