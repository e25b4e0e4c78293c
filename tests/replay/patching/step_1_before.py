"""Patch step 1: the workflow as it was before the memo change (test-only).

Steps, one file each: 1 (this file) the code that recorded the old histories; 2
(`step_2_unguarded.py`) the change made without a patch, which breaks them; 3 the real code in
`workflows/collaboration.py`, where `workflow.patched(MEMO_PATCH)` guards the change. Step 4, once
no run recorded by step 1 is still open: `workflow.deprecate_patch(MEMO_PATCH)`, then remove it.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class BeforeMemoWorkflow(CollaborationWorkflow):
    """The collaboration workflow without the memo."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _publish_memo(self) -> None:
        pass

    def _lean(self) -> bool:
        return False  # the lean-commands patch came later still

    def _bounded(self) -> bool:
        return False  # and the bounded-life patch later again
