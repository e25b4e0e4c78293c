"""The lean-commands change made WITHOUT `workflow.patched` (test-only, the wrong way).

It keeps the armed stall timer and upserts only changed search attributes in every run, old or
new, so a history recorded before the change meets commands it never saw: non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedLeanWorkflow(CollaborationWorkflow):
    """The lean commands in every run."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _lean(self) -> bool:
        return True
