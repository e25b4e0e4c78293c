"""The bounded-life change made WITHOUT `workflow.patched` (test-only, the wrong way).

It delivers by key, backs reminders off and hands deliveries over at continue-as-new in every run,
old or new, so a history recorded before the change meets commands it never saw: non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedBoundedWorkflow(CollaborationWorkflow):
    """The bounded life in every run."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _bounded(self) -> bool:
        return True
