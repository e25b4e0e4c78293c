"""`DeliveryWorkflow`: the deliveries a closed collaboration still had under way.

A collaboration completes as soon as its outcome is recorded (docs/architecture.md, section 4):
what its last run was still delivering is handed to this workflow, started as its child with the
abandon policy, so the collaboration reads `Completed` at once while each notification is still
tried, by key, until the end of its own two-day window. The outbox's lease and marks keep each
channel's send exactly-once whoever attempts it (`activities.outbox`). Deterministic: only SDK calls.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.records import DeliveryHandover
    from workflows.activity_names import DELIVERY_WORKFLOW
    from workflows.deliveries import deliver_within

# A window already over still gets one attempt: its last one marks what is undelivered `failed`.
LAST_CHANCE = timedelta(minutes=1)


@workflow.defn(name=DELIVERY_WORKFLOW)
class DeliveryWorkflow:
    """Deliver what a closed collaboration handed over, each key within its window."""

    @workflow.run
    async def run(self, handover: DeliveryHandover) -> None:
        """Deliver every key; return once each is sent, failed, or out of time."""
        now = workflow.now()
        await asyncio.gather(
            *(deliver_within(d.key, max(d.until - now, LAST_CHANCE)) for d in handover.deliveries)
        )
