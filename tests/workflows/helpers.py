"""Helpers for workflow tests: start a collaboration, read its history."""

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from schemas import Closure, CollaborationStatus, Outcome
from tests.factories import request_data
from workflows.collaboration import CollaborationWorkflow


async def start(
    client: Client, workflow_id: str, task_queue: str, **changes: Any
) -> WorkflowHandle[CollaborationWorkflow, CollaborationStatus]:
    """Start a collaboration from the example input (plain JSON, as the Web UI sends it)."""
    return await client.start_workflow(
        CollaborationWorkflow.run,
        request_data(**changes),
        id=workflow_id,
        task_queue=task_queue,  # type: ignore[arg-type]
    )


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Return the names of the events in the workflow's history (current run)."""
    history = await handle.fetch_history()
    return [EventType.Name(e.event_type) for e in history.events]


async def abandon(handle: WorkflowHandle[Any, Any]) -> None:
    """End a test's collaboration cleanly (terminating one upsets the time-skipping server)."""
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="test", reason="test over")
    )
    await handle.result()


async def latest_status(client: Client, workflow_id: str, attempts: int = 6) -> CollaborationStatus:
    """Query the status of the latest run, asking again if the query lands on a closing run.

    On the time-skipping server a query that reaches a run just as it continues-as-new never
    answers; asking again (a handle without run id) reaches the new run.
    """
    for attempt in range(attempts):
        try:
            return await client.get_workflow_handle(workflow_id).query(
                CollaborationWorkflow.status, rpc_timeout=timedelta(seconds=5)
            )
        except RPCError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
