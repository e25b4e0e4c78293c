"""The memo change written WITHOUT `workflow.patched`: what the patch protects against (test-only).

Step 0 is the workflow as recorded in the golden histories; step 1 (this file) adds the memo
unconditionally and breaks every history recorded before it; step 2 is the real code in
`workflows/collaboration.py`, where `workflow.patched(MEMO_PATCH)` guards the same command.
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
