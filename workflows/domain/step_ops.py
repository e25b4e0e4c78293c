"""The planned-step updates: plan, reschedule, cancel, held; and the decision date.

Each is news: it restarts the stall clock, which the steps ahead then hold until their end plus
the grace (`workflows.domain.state.CollaborationState.plan_hold`). A step's invitation goes to
whom it names with the entry (`workflows.domain.notifications`): a reschedule sends the same
invitation again with a higher `sequence`, a cancellation cancels it. A partner's answers about
a step (`workflows.domain.partner_ops`) apply through the same functions. Pure: `now` is the
workflow's time.
"""

from datetime import UTC, datetime
from typing import Any

from schemas import EventKind, HistoryEntry
from schemas.status import shortened
from schemas.steps import (
    MAX_OPEN_STEPS,
    CancelStep,
    DecisionDate,
    PlanStep,
    RescheduleStep,
    Step,
    StepHeld,
)
from workflows.domain import steps
from workflows.domain.rules import Facts, check_open
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.update import Update

# A partner's answer about a step adds the link's facts to its entry (`workflows.domain.partner_ops`).
Details = dict[str, object] | None


class TooManySteps(Refused):
    type = "TooManySteps"


class UnknownStep(Refused):
    type = "UnknownStep"


class AlreadyDecided(Refused):
    type = "AlreadyDecided"


def _open_steps(facts: Facts) -> list[Step]:
    open_steps: list[Step] = getattr(facts, "steps", [])  # only the workflow's state has them
    return open_steps


def check_plan(facts: Facts, plan: PlanStep) -> None:
    check_open(facts)
    planned = _open_steps(facts)
    if len(planned) >= MAX_OPEN_STEPS:
        ids = ", ".join(s.id for s in planned)
        raise TooManySteps(
            f"steps: at most {MAX_OPEN_STEPS} open steps ({ids}); mark one held, or cancel it, first"
        )


def check_step(facts: Facts, request: RescheduleStep | CancelStep | StepHeld) -> None:
    check_open(facts)
    known = _open_steps(facts)
    if hasattr(facts, "steps") and request.step not in {s.id for s in known}:
        ids = ", ".join(s.id for s in known) or "none"
        raise UnknownStep(f"step: {request.step} is not an open step of this collaboration (open: {ids})")


def _change(
    state: CollaborationState,
    kind: EventKind,
    request: PlanStep | RescheduleStep | CancelStep | StepHeld,
    step: Step,
    stays: bool,
    details: dict[str, object],
    now: datetime,
) -> HistoryEntry:
    """Put `step` in the plan in its id's place (or take that id out when it does not stay),
    record `kind` with the step's details, and restart the clock: every step update is news."""
    steps.replace(state, step if stays else None, step.id)
    entry = state.append(
        kind, now, actor=request.by, note=request.note, details=steps.step_details(step) | details
    )
    state.restart_clock(now)
    return entry


def _open(state: CollaborationState, step_id: str) -> Step:
    step = steps.step_of(state, step_id)
    assert step is not None, "the rule found it"
    return step


def plan(state: CollaborationState, plan: PlanStep, _: None, now: datetime) -> HistoryEntry:
    """Plan a step; invite whom it names, else both parties' contacts."""
    state.steps_numbered += 1
    invited = list(dict.fromkeys(a.lower() for a in plan.with_whom)) or [
        state.contacts["corporate"],
        state.contacts["startup"],
    ]
    step = Step(
        id=f"s{state.steps_numbered}",
        kind=plan.kind,
        at=plan.at.astimezone(UTC),
        minutes=plan.minutes,
        where=plan.where,
        with_whom=invited,
        note=shortened(plan.note),
        planned_by=plan.by,
    )
    state.step_counts.planned += 1
    return _change(state, EventKind.STEP_PLANNED, plan, step, True, {}, now)


def reschedule(
    state: CollaborationState,
    request: RescheduleStep,
    _: None,
    now: datetime,
    more: Details = None,
    holds_until: datetime | None = None,
) -> HistoryEntry:
    """Move a step (a postponement): its invitation is sent again, one `sequence` higher. A
    partner's move holds the reminders until `holds_until` at the latest."""
    step = _open(state, request.step)
    moved = step.model_copy(
        update={
            "at": request.at.astimezone(UTC),
            "minutes": request.minutes or step.minutes,
            "sequence": step.sequence + 1,
            "missed": False,
            "note": shortened(request.note) if request.note else step.note,
            "holds_until": holds_until,
        }
    )
    state.step_counts.postponed += 1
    details = {"previous_at": step.at.isoformat()} | (more or {})
    return _change(state, EventKind.STEP_RESCHEDULED, request, moved, True, details, now)


def cancel(
    state: CollaborationState, request: CancelStep, _: None, now: datetime, more: Details = None
) -> HistoryEntry:
    """Cancel a step: its invitation is cancelled (`METHOD:CANCEL`, one `sequence` higher)."""
    step = _open(state, request.step)
    state.step_counts.cancelled += 1
    cancelled = step.model_copy(update={"sequence": step.sequence + 1})
    return _change(state, EventKind.STEP_CANCELLED, request, cancelled, False, more or {}, now)


def held(
    state: CollaborationState, request: StepHeld, _: None, now: datetime, more: Details = None
) -> HistoryEntry:
    """Mark a step held: it leaves the plan, and the figures count it."""
    step = _open(state, request.step)
    state.step_counts.held += 1
    details = {"was_missed": step.missed} | (more or {})
    return _change(state, EventKind.STEP_HELD, request, step, False, details, now)


def check_decision_date(facts: Facts, request: DecisionDate) -> None:
    check_open(facts)
    if facts.stage in steps.DECIDED:
        raise AlreadyDecided(f"the decision is taken: the collaboration is in {facts.stage.value}")


def set_decision_date(
    state: CollaborationState, request: DecisionDate, _: None, now: datetime
) -> HistoryEntry:
    """Set the go/no-go date: overdue, and chased, from the day after it."""
    state.decision = steps.decision_on(request.on, request.by)
    # A date already past is overdue at once: its timer is due.
    details = {"on": request.on.isoformat(), "due": state.decision.due.isoformat()}
    return state.append(
        EventKind.DECISION_DATE_SET, now, actor=request.by, note=request.note, details=details
    )


UPDATES: tuple[Update[Any, Any], ...] = (
    Update(
        "plan_step",
        PlanStep,
        check_plan,
        plan,
        "Plan the next step (a meeting, a demo, a document due, a decision) and invite its people.",
        command="plan",
    ),
    Update(
        "reschedule_step",
        RescheduleStep,
        check_step,
        reschedule,
        "Move a planned step to another time; its invitation is updated.",
        command="reschedule",
    ),
    Update(
        "cancel_step",
        CancelStep,
        check_step,
        cancel,
        "Cancel a planned step; its invitation is cancelled.",
        command="cancel-step",
    ),
    Update(
        "step_held",
        StepHeld,
        check_step,
        held,
        "Mark a planned step held.",
        command="held",
    ),
    Update(
        "set_decision_date",
        DecisionDate,
        check_decision_date,
        set_decision_date,
        "Set the go/no-go date; when it passes with no decision, the owner and approvers are told.",
        command="decision-date",
    ),
)
