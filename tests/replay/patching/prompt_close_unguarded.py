"""The prompt close made WITHOUT `workflow.patched` (test-only, the wrong way).

Every run gives its deliveries a short grace at its outcome (then hands the rest to a child), marker
or not: a history recorded when a closing run waited for every delivery meets a timer it never
saw: non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedPromptCloseWorkflow(CollaborationWorkflow):
    """Hands off in every run."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _prompt(self) -> bool:
        return True
