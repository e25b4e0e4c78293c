"""Search attributes after a stall reminder, seen through visibility queries and `passerelle list`."""

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_found, cli_env, eventually, passerelle
from tests.factories import request_data

pytestmark = pytest.mark.e2e


async def test_stall_reminder_sets_stalled_and_an_update_clears_it(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A reminder (stall threshold of ~9 s) makes `Stalled = true` and `list --stalled` find it."""
    env, client, programme = cli_env(dev_env, task_queue), dev_env.client, f"Stall {uuid.uuid4()}"
    async with run_worker(client):
        data = request_data(programme=programme, stall_after_days={"introduction": 0.0001})
        await client.start_workflow("CollaborationWorkflow", data, id=workflow_id, task_queue=task_queue)
        await assert_found(client, workflow_id, 'Stalled = true AND Stage = "introduction"')

        async def listed_as_stalled() -> None:
            result = await passerelle(env, "list", "--stalled", "--programme", programme, "--json")
            assert [row["workflow_id"] for row in result.json()] == [workflow_id]

        await eventually(listed_as_stalled)
        advanced = await passerelle(env, "advance", workflow_id, "--to", "qualification", "--by", "ops")
        assert advanced.code == 0, advanced
        await assert_found(client, workflow_id, 'Stalled = false AND Stage = "qualification"')
        closed = await passerelle(
            env, "close", workflow_id, "--outcome", "abandoned", "--by", "o", "--reason", "."
        )
        assert closed.code == 0, closed
