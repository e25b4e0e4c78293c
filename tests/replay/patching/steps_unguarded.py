"""The collaboration workflow with its planned-step timers switched off (test-only, the wrong way).

`NoStepTimersWorkflow` records the `planned-steps` marker where history has it, then arms no
step or decision timer, as code without the timers would behave: a history in which a step was missed or a decision date passed then schedules other
commands than it recorded, and fails to replay. That the committed golden fails so shows it holds
the timers the patch guards.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows import patches
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class NoStepTimersWorkflow(CollaborationWorkflow):
    """Arms no timer for planned steps or decision dates."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _plans(self) -> bool:
        patches.PLANNED_STEPS.applies()  # the marker is where history has it: only the timers differ
        return False
