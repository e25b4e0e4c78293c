"""Planned next steps and the decision date: what they hold and when they call for attention.

A collaboration is not chased before its planned step is over plus a grace (`hold`): both
parties are busy preparing it. A step whose end plus the grace passes with no news is *missed*:
it stops holding the clock and the parties are asked what happened (`miss`). The go/no-go date
is a timer too (`decision_due_at`): when it passes with no decision (a move to deployment, or an
outcome), the owner and the approvers are told once, then the owner on the stall reminders'
schedule, backing off (`workflows.domain.reminders`).

The state keeps at most `MAX_OPEN_STEPS` steps and a few counters, whatever the collaboration's
age. Pure: `now` is the workflow's time.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from schemas import EventKind, HistoryEntry, Stage
from schemas.steps import Decision, Step
from workflows.domain.reminders import next_reminder
from workflows.domain.state import CollaborationState

DECIDED = (Stage.DEPLOYMENT,)  # a move here is the go decision; an outcome is the other


def ends_at(step: Step) -> datetime:
    return step.at + timedelta(minutes=step.minutes)


def next_step(state: CollaborationState) -> Step | None:
    """Return the soonest open step not missed (the Web UI's `NextStepAt`), or None."""
    return min((s for s in state.steps if not s.missed), key=lambda s: (s.at, s.id), default=None)


def missed_at(state: CollaborationState) -> datetime | None:
    """Return when the soonest step ahead is missed, unless news of it comes first; None when
    there is none, or nobody is chased (paused, closed)."""
    step = next_step(state)
    if step is None or state.paused or state.outcome is not None:
        return None
    return ends_at(step) + state.grace


def step_of(state: CollaborationState, step_id: str) -> Step | None:
    return next((s for s in state.steps if s.id == step_id), None)


def step_details(step: Step, **more: Any) -> dict[str, Any]:
    """Return a step as its entries' `details` hold it (the invitation and the figures read it)."""
    return {
        "step": step.id,
        "kind": step.kind.value,
        "at": step.at.isoformat(),
        "minutes": step.minutes,
        "sequence": step.sequence,
        "where": step.where,
        "with": list(step.with_whom),
        "note": step.note,  # what the plan said: an invitation moved without a note keeps it
    } | more


def replace(state: CollaborationState, step: Step | None, step_id: str) -> None:
    """Put `step` in place of the step `step_id` (None: it leaves the list)."""
    kept = [s for s in state.steps if s.id != step_id]
    state.steps = sorted([*kept, step] if step is not None else kept, key=lambda s: (s.at, s.id))


def miss(state: CollaborationState, now: datetime) -> list[HistoryEntry]:
    """Mark the soonest step ahead missed and ask what happened; the stall clock counts again from
    the question, a full threshold at the soonest (so the question is not followed at once by a
    stall reminder), or later while another step still holds it."""
    step = next_step(state)
    assert step is not None, "called when `missed_at` came"
    missed = step.model_copy(update={"missed": True})
    replace(state, missed, step.id)
    state.step_counts.missed += 1
    # The question is asked now: the stall clock counts from it (the SLA and the deadline the
    # status shows follow), and the next reminder is never sooner than it was.
    state.clock_start = now
    if state.next_reminder_at is not None:
        state.next_reminder_at = max(state.next_reminder_at, state.stall_due)
    days = state.days_since(ends_at(step), now)
    note = f"no news of the {step.kind.value} of {step.at.isoformat()} {days:g} days after its end"
    return [state.append(EventKind.STEP_MISSED, now, actor="system", note=note, details=step_details(missed))]


# -- the decision date --


def decision_on(on: date, set_by: str) -> Decision:
    """Return a decision date: overdue from the next day on, 00:00 UTC."""
    due = datetime.combine(on + timedelta(days=1), time(), tzinfo=UTC)
    return Decision(on=on, due=due, set_by=set_by, next_reminder_at=due)


def decided(state: CollaborationState) -> bool:
    return state.outcome is not None or state.stage in DECIDED


def overdue(state: CollaborationState) -> bool:
    """Return True while the decision date has passed with no decision."""
    return state.decision is not None and state.decision.overdue and not decided(state)


def decision_due_at(state: CollaborationState) -> datetime | None:
    """Return when the decision date next calls for attention, or None."""
    d = state.decision
    if d is None or decided(state) or state.paused:
        return None
    return d.next_reminder_at


def default_decision(state: CollaborationState, now: datetime) -> Decision | None:
    """Return the playbook's default decision date for a pilot starting now, or None (no
    playbook default, or a date the collaboration already has)."""
    days = state.progress.playbook.decision_after_days if state.progress else None
    if days is None or state.decision is not None:
        return None
    return decision_on((now + timedelta(days=days)).date(), "playbook")


def decision_overdue(state: CollaborationState, now: datetime) -> list[HistoryEntry]:
    """Say the decision is overdue: the first time to the owner and the approvers, then to the
    owner on a schedule that backs off and stops at the reminders' cap."""
    d = state.decision
    assert d is not None, "called when `decision_due_at` came"
    d.overdue = True
    d.reminders += 1
    d.next_reminder_at = next_reminder(now, state.threshold, d.reminders, escalate_after=1)
    days = state.days_since(d.due, now)
    entry = state.append(
        EventKind.DECISION_OVERDUE,
        now,
        actor="system",
        reminder_number=d.reminders,
        note=f"no decision {days:g} days after the decision date {d.on.isoformat()}",
        details={"on": d.on.isoformat(), "escalation": d.reminders == 1},
    )
    return [entry]
