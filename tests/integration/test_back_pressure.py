"""Operators' commands ride Temporal's back-pressure, and nothing applies twice.

Hundreds of `passerelle milestone` processes sent at once to one collaboration meet Temporal's
limit of ten updates in flight per workflow (`RESOURCE_EXHAUSTED`) and its continue-as-new
(`workflow is closing`, updates aborted): every one is recorded, once. An update sent while the
workflow's task is failing ("Workflow Task in failed state") lands once a worker can run it.
"""

import asyncio
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from passerelle.platform.db import create_pool
from passerelle.platform.pressure import execute_update, not_ready
from passerelle.platform.settings import Settings
from schemas import Closure, Outcome
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory, keys_in
from tests.workflows.helpers import latest_status, start
from workflows.collaboration import CollaborationWorkflow

UPDATES = 500
AT_ONCE = 100  # processes alive together: each holds its own client; fifty times the in-flight limit


@pytest.mark.alone
async def test_500_updates_at_once_through_the_cli_are_each_recorded_once(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    own_cluster: str,
    settings: Settings,
    task_queue: str,
) -> None:
    """On a PostgreSQL of its own: a hundred commands at once use up its connections (which the
    key store rides too), and the other tests must keep theirs."""
    workflow_id = f"pressure-{uuid.uuid4().hex[:8]}"
    client = keys_in(dev_env.client, settings, own_cluster)
    pool = await create_pool(own_cluster, max_size=10)

    def one(n: int) -> subprocess.CompletedProcess[str]:
        kind = f"m{n}"
        return passerelle(
            client, "milestone", workflow_id, "--kind", kind, "--by", "ops", database_url=own_cluster
        )

    try:
        async with run_worker(client, pool=pool):
            await start(client, workflow_id, task_queue, continue_as_new_after_events=200)
            loop = asyncio.get_running_loop()
            with ThreadPoolExecutor(max_workers=AT_ONCE) as threads:
                done = await asyncio.gather(*(loop.run_in_executor(threads, one, n) for n in range(UPDATES)))
            status = await latest_status(client, workflow_id)
            await client.get_workflow_handle(workflow_id).execute_update(
                CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
            )
        failed = [f"m{n}: {d.stderr.strip()}" for n, d in enumerate(done) if d.returncode != 0]
        assert failed == [], f"{len(failed)} refused, first: {failed[:3]}"
        rows = await pool.fetch(
            "SELECT milestone, count(*) FROM milestones WHERE workflow_id = $1 AND kind = 'milestone' GROUP BY 1",
            workflow_id,
        )
    finally:
        await pool.close()
    counted = {r[0]: r[1] for r in rows}
    twice = {kind: n for kind, n in counted.items() if n > 1}
    assert twice == {}, f"applied more than once: {twice}"
    assert counted == {f"m{n}": 1 for n in range(UPDATES)}
    assert status.runs >= 2, "the updates met at least one continue-as-new"


# A workflow whose task fails until a fixed build of it runs: the same type, two definitions.
@workflow.defn(name="NotReadyYet", sandboxed=False)
class Failing:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug in this build: the workflow task fails")  # not an ApplicationError

    @workflow.update
    async def answer(self, value: str) -> str:
        return value


@workflow.defn(name="NotReadyYet", sandboxed=False)
class Fixed:
    def __init__(self) -> None:
        self.answers: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.answers) == 1)
        return self.answers

    @workflow.update
    async def answer(self, value: str) -> str:
        self.answers.append(value)
        return value


class Watched:
    """A workflow handle that says when Temporal first answered "Workflow Task in failed state"."""

    def __init__(self, handle: WorkflowHandle[Any, Any]) -> None:
        self.handle, self.refused = handle, asyncio.Event()

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.handle.execute_update(*args, **kwargs)
        except RPCError as err:
            if not_ready(err):
                self.refused.set()
            raise


async def test_an_update_sent_while_the_workflow_task_fails_lands_once_it_can(
    dev_env: WorkflowEnvironment,
) -> None:
    client: Client = dev_env.client
    queue, workflow_id = f"not-ready-{uuid.uuid4()}", f"not-ready-{uuid.uuid4().hex[:8]}"
    handle = client.get_workflow_handle(
        (await client.start_workflow("NotReadyYet", id=workflow_id, task_queue=queue)).id
    )
    watched = Watched(handle)
    async with Worker(client, task_queue=queue, workflows=[Failing]):
        sending = asyncio.create_task(
            execute_update(watched, "answer", "once", id="the-one", result_type=str)  # type: ignore[arg-type]
        )
        await asyncio.wait_for(watched.refused.wait(), timeout=90)  # Temporal said: not now
    async with Worker(client, task_queue=queue, workflows=[Fixed]):  # the fixed build rolls out
        assert await asyncio.wait_for(sending, timeout=90) == "once"
        assert await handle.result() == ["once"], "applied once, though sent again"
