"""Patch step 2: the memo change made WITHOUT `workflow.patched` (test-only, the wrong way).

It upserts the memo in every run, so replaying any history recorded by step 1 meets a command the
history never saw: non-deterministic. Step 3 (`workflows/collaboration.py`) guards it with the patch.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedMemoWorkflow(CollaborationWorkflow):
    """Upserts the memo in every run, old or new: not compatible with pre-change histories."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _publish_memo(self) -> None:
        workflow.upsert_memo({"collaboration_id": self._known().collaboration_id})
