"""The visible-text rule made WITHOUT its guards (test-only, the wrong way).

`UnguardedStartWorkflow` refuses hidden characters in every start input, marker or not: a run
begun before the rule fails where its history scheduled work. `StrictHandlersWorkflow` decodes
each update again with today's rules in its handler, where validators do not run on replay: an
update history recorded as applied now fails in its handler. Both are non-deterministic.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.collaboration import CollaborationWorkflow
    from workflows.domain.state import CollaborationState
    from workflows.domain.update import Update
    from workflows.requests import parse_request


@workflow.defn(name="CollaborationWorkflow")
class UnguardedStartWorkflow(CollaborationWorkflow):
    """Refuses hidden characters in the start input whatever the history says."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    def _refuses_hidden(self) -> bool:
        return True


@workflow.defn(name="CollaborationWorkflow")
class StrictHandlersWorkflow(CollaborationWorkflow):
    """Its update handlers apply today's rules to requests history says were accepted."""

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run as the real workflow does."""
        return await super().run(request, carried)

    async def _apply(self, update: Update[Any, Any], request: Any) -> CollaborationStatus:
        valid = parse_request(update.model, request, update.name)
        state = self._started_state()
        return await self._change(
            lambda now: [update.operation(state, valid, update.rule(state, valid), now)]
        )
