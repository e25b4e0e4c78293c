"""The playbook change made WITHOUT `workflow.patched` (test-only, the wrong way).

Every new run reads its playbook before recording its start, so a history recorded before the
change meets an activity it never scheduled: non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedPlaybooksWorkflow(CollaborationWorkflow):
    """Reads the playbook in every run."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _reads_playbook(self) -> bool:
        return True
