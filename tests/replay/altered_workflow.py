"""A deliberately altered `CollaborationWorkflow`, registered under the real name: test-only.

It records events like the real one but never schedules a delivery, as if someone had
"simplified" the workflow without a patch. Replaying a real history against it must diverge at the
first `ActivityTaskScheduled` event of a notification.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus, EventRecord, HistoryEntry
    from workflows.activity_names import RECORD_EVENTS
    from workflows.collaboration import CollaborationWorkflow
    from workflows.delivery_policy import RECORD_RETRY
    from workflows.domain import views
    from workflows.domain.state import CollaborationState


@workflow.defn(name="CollaborationWorkflow")
class SilentCollaborationWorkflow(CollaborationWorkflow):
    """The collaboration workflow without its notifications: not compatible with old histories."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    async def _record(self, entries: list[HistoryEntry]) -> None:
        state = self._started_state()
        record = EventRecord(
            run_id=workflow.info().run_id, entries=entries, projection=views.projection(state, workflow.now())
        )
        from datetime import timedelta

        await workflow.execute_activity(
            RECORD_EVENTS, record, start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY
        )
