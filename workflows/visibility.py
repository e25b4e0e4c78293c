"""What the Web UI's list shows of a collaboration: its search attributes, upserted as they change.

No personal data goes here (no e-mails, no notes): search attributes are stored unencrypted in
the visibility store, even when payload encryption is on.
"""

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from workflows.domain import steps
    from workflows.domain.state import CollaborationState
    from workflows.search_attributes import (
        CORPORATE,
        DECISION_DUE,
        DECISION_OVERDUE,
        NEXT_STEP_AT,
        OUTCOME,
        PAUSED,
        PROGRAMME,
        SECTOR,
        STAGE,
        STALLED,
        STARTUP,
    )


def attributes(state: CollaborationState) -> list[SearchAttributeUpdate[Any]]:
    """Return every search attribute's value for the collaboration as it stands.

    The planned-step attributes are unset, never set to a default, while they say nothing: a run
    with no plan upserts nothing new, and its history replays as it was recorded."""
    request = state.request
    step, decision = steps.next_step(state), state.decision
    pending = decision if decision is not None and not steps.decided(state) else None
    return [
        CORPORATE.value_set(request.corporate.name),
        STARTUP.value_set(request.startup.name),
        PROGRAMME.value_set(request.programme),
        SECTOR.value_set(request.sector),
        STAGE.value_set(state.stage.value),
        STALLED.value_set(state.stalled),
        PAUSED.value_set(state.paused),
        OUTCOME.value_unset() if state.outcome is None else OUTCOME.value_set(state.outcome.value),
        NEXT_STEP_AT.value_set(step.at) if step and state.outcome is None else NEXT_STEP_AT.value_unset(),
        DECISION_DUE.value_set(pending.due) if pending else DECISION_DUE.value_unset(),
        DECISION_OVERDUE.value_set(True) if pending and pending.overdue else DECISION_OVERDUE.value_unset(),
    ]


class Published:
    """The search attributes a run has upserted, so that it upserts only what changed: each
    upsert is a command and an event in history."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}

    def changes(self, updates: list[SearchAttributeUpdate[Any]]) -> list[SearchAttributeUpdate[Any]]:
        """Return the updates whose value differs from the last one upserted, and remember them."""
        changed = [u for u in updates if self._values.get(u.key.name) != u.value]
        self._values.update((u.key.name, u.value) for u in changed)
        return changed
