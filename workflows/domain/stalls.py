"""The stall reminder: what fires when a collaboration's stall clock runs out.

The clock itself (news, holds, snoozes) is the state's (`workflows.domain.state`); the schedule
of the reminders after this one is `workflows.domain.reminders`. Pure: `now` is the workflow's
time.
"""

from datetime import datetime

from schemas import EventKind, HistoryEntry
from workflows.domain.reminders import MAX_REMINDERS_PER_STAGE, next_reminder
from workflows.domain.state import CollaborationState


def remind(state: CollaborationState, now: datetime, backoff: bool = True) -> list[HistoryEntry]:
    """Fire the due reminder: mark stalled, escalate once per stage when it is time, and
    schedule the next one (`workflows.domain.reminders`), or stop at the cap and tell the owner.

    `backoff=False` keeps the fixed period of collaborations whose run began before the
    schedule existed, so that their histories replay.
    """
    state.unanswered_reminders += 1
    state.reminders_sent += 1
    state.stalled = True
    unanswered, escalate_after = state.unanswered_reminders, state.request.escalate_after_reminders
    if not backoff:
        state.next_reminder_at = now + state.threshold
    else:
        state.next_reminder_at = next_reminder(now, state.threshold, unanswered, escalate_after)
    entries = [
        state.append(
            EventKind.REMINDER,
            now,
            actor="system",
            reminder_number=state.unanswered_reminders,
            note=f"no update for {state.days_since(state.clock_start, now):g} days",
        )
    ]
    if (
        state.unanswered_reminders >= state.request.escalate_after_reminders
        and state.stage not in state.escalated_stages
    ):
        state.escalated_stages.append(state.stage)
        state.escalations += 1
        entries.append(
            state.append(
                EventKind.ESCALATION,
                now,
                actor="system",
                reminder_number=state.unanswered_reminders,
                note=f"{state.unanswered_reminders} reminders unanswered",
            )
        )
    if backoff and unanswered >= MAX_REMINDERS_PER_STAGE:
        entries.append(
            state.append(
                EventKind.REMINDERS_STOPPED,
                now,
                actor="system",
                reminder_number=unanswered,
                note=f"{unanswered} reminders unanswered: no more reminders until there is news",
            )
        )
    return entries
