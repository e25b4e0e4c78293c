"""What a collaboration's main loop waits for: each timed duty, when it is due, and what it does.

The loop fires the first duty due, in the order listed (fixed, so that a history's commands
replay in the order they were recorded), else waits for the soonest. The "due soon" boundary
wakes the loop without doing anything: the SLA the Web UI shows moves on. Pure: the duties
change the state and return the entries to record; `now` is the workflow's time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from schemas import HistoryEntry
from workflows.domain import approvals, stalls, steps
from workflows.domain.state import CollaborationState


@dataclass(frozen=True)
class Duty:
    """One timed duty: when it is due, why (the timer's summary) and what it does, if anything."""

    at: datetime
    why: str
    fire: Callable[[datetime], list[HistoryEntry]] | None


def duties(state: CollaborationState, backoff: bool, plans: Callable[[], bool]) -> list[Duty]:
    """Return the duties armed now, in the order they fire when several are due.

    `plans()` is asked only when the state has a planned step or a decision date: the workflow's
    patch for the timers these bring (`workflows.patches.PLANNED_STEPS`)."""
    armed: list[Duty] = []
    # A missed step comes first: the stall it ends its hold on is due at the same moment, and
    # asking what happened to the step is the reminder (`workflows.domain.steps.miss`).
    missed, decision = steps.missed_at(state), steps.decision_due_at(state)
    plan = (missed is not None or decision is not None) and plans()
    if plan and missed is not None:
        armed.append(Duty(missed, "planned step", lambda now: steps.miss(state, now)))
    if state.next_reminder_at is not None:
        armed.append(
            Duty(state.next_reminder_at, "stall reminder", lambda now: stalls.remind(state, now, backoff))
        )
    due_soon = state.due_soon_at
    if due_soon is not None:
        armed.append(Duty(due_soon, "due soon", None))
    approval = state.approval_reminder_at  # None without a playbook
    if approval is not None:
        armed.append(Duty(approval, "approval reminder", lambda now: approvals.remind_approvers(state, now)))
    if plan and decision is not None:
        armed.append(Duty(decision, "decision date", lambda now: steps.decision_overdue(state, now)))
    return armed


def first_due(armed: list[Duty], now: datetime) -> Duty | None:
    """Return the first duty due at `now` that does something, or None."""
    return next((d for d in armed if d.fire is not None and d.at <= now), None)


def soonest(armed: list[Duty], now: datetime) -> Duty | None:
    """Return the duty to wake for: the soonest ahead (the first listed among equals), or None."""
    ahead = [d for d in armed if d.fire is not None or d.at > now]
    return min(ahead, key=lambda d: d.at) if ahead else None
