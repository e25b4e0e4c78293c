"""Grow a collaboration's history fast: `record_milestone` updates sent concurrently through the client."""

import asyncio
from typing import Any

from temporalio.client import WorkflowHandle

from schemas import MilestoneRequest
from workflows.collaboration import CollaborationWorkflow

IN_FLIGHT = 8  # Temporal takes at most 10 updates in flight per workflow
EVENTS_PER_UPDATE = 10  # about 9: the update, its record and delivery activities, workflow tasks


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """Return how many events the handle's run holds."""
    return (await handle.describe()).history_length


async def grow(handle: WorkflowHandle[Any, Any], events: int) -> set[str]:
    """Send `record_milestone` updates, `IN_FLIGHT` at a time, until the run holds `events` events;
    return the milestone kinds recorded.

    The last batches shrink so that the run stays below Temporal's continue-as-new suggestion
    (4,096 events by default) when `events` is 4,000: the whole history is then one run's.
    """
    kinds: set[str] = set()
    while (length := await history_length(handle)) < events:
        batch = max(1, min(IN_FLIGHT, (events - length) // EVENTS_PER_UPDATE))
        new = [f"milestone {len(kinds) + i:04d}" for i in range(batch)]
        await asyncio.gather(
            *(
                handle.execute_update(
                    CollaborationWorkflow.record_milestone, MilestoneRequest(kind=k, by="ops")
                )
                for k in new
            )
        )
        kinds.update(new)
    return kinds
