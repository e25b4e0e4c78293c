"""The settled patch made WITHOUT `workflow.patched` (test-only, the wrong way).

Every run takes today's branches without asking the earlier patches, so a history recorded by an
earlier release meets markers it never writes and, before playbooks, an activity it never saw:
non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class UnguardedSettledWorkflow(CollaborationWorkflow):
    """Settled in every run, marker or not."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _settled(self) -> bool:
        return True
