"""A partner's one-click answer applied to a collaboration (docs/partners.md).

Every answer is recorded as a `partner_update` entry by `partner:<party>`, with the action, the
party's contact address, the link's id and the e-mail it answered in `details`. An answer is news
from the party the reminders chase, so the stall clock restarts (`stalled` clears); then:
- `need_help` tells the owner at once, with the note (`workflows.domain.notifications`);
- `pause` pushes the next reminder to at least `days` from now, and tells the owner;
- `stopped` leaves a withdrawal proposal and holds the reminders; only the operator's `close`
  ends the collaboration, and the next news (any update that restarts the clock) withdraws it;
- `held`, `postponed` and `cancelled` are about the planned step the e-mail named: they are
  recorded as `step_held`, `step_rescheduled` and `step_cancelled` would be by an operator
  (`workflows.domain.step_ops`), by the party, with the link's facts in `details`.
The state keeps each party's latest answer only, so it stays bounded. Pure: `now` is the
workflow's time.
"""

from datetime import datetime, timedelta
from typing import Any

from schemas import EventKind, HistoryEntry
from schemas.partners import MAX_PAUSE_DAYS, STEP_ACTIONS, PartnerAction, PartnerAnswer
from schemas.status import PartnerAnswerSeen, Withdrawal, shortened
from schemas.steps import CancelStep, RescheduleStep, StepHeld
from workflows.domain import step_ops
from workflows.domain.lifecycle import AlreadyPaused
from workflows.domain.rules import Facts, check_open
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.update import Update


class LinkUsed(Refused):
    """A partner's link that already answered (the portal refuses it first; this is the backstop)."""

    type = "LinkUsed"


def check_answer(facts: Facts, answer: PartnerAnswer) -> None:
    check_open(facts)
    if answer.action is PartnerAction.PAUSE and facts.paused:
        raise AlreadyPaused("the programme has already paused the collaboration")
    answers = getattr(facts, "partner_answers", [])  # only the workflow's state has them
    if any(seen.link == answer.link for seen in answers):
        raise LinkUsed("this link has already answered")
    if answer.step is not None:
        step_ops.check_step(facts, StepHeld(step=answer.step, by=f"partner:{answer.party}"))


def answer(state: CollaborationState, answer: PartnerAnswer, _: None, now: datetime) -> HistoryEntry:
    """Record a partner's answer and apply its action."""
    until = now + timedelta(days=answer.days) if answer.days is not None else None
    details: dict[str, object] = {
        "action": answer.action.value,
        "party": answer.party,
        "contact": state.contacts[answer.party],
        "link": answer.link,
        "answered_seq": answer.answered_seq,
        "was_stalled": state.stalled,  # the KPI "stalls resolved by a partner's answer"
    }
    if until is not None:
        details["until"] = until.isoformat()
    by = f"partner:{answer.party}"
    if answer.action in STEP_ACTIONS:
        entry = _about_step(state, answer, by, details, now)
    else:
        entry = state.append(EventKind.PARTNER_UPDATE, now, actor=by, note=answer.note, details=details)
        state.restart_clock(now)
    if until is not None:
        state.push_reminder(until)
    if answer.action is PartnerAction.STOPPED:
        state.withdrawal = Withdrawal(
            party=answer.party, at=now, seq=entry.seq, reason=shortened(answer.note)
        )
        state.next_reminder_at = None  # nobody is chased while the operator decides
    seen = PartnerAnswerSeen(
        party=answer.party,
        action=answer.action.value,
        at=now,
        seq=entry.seq,
        link=answer.link,
        note=shortened(answer.note),
        until=until,
    )
    state.partner_answers = [*(a for a in state.partner_answers if a.party != answer.party), seen]
    return entry


def _about_step(
    state: CollaborationState, answer: PartnerAnswer, by: str, link: dict[str, object], now: datetime
) -> HistoryEntry:
    assert answer.step is not None, "a step action names its step"
    if answer.action is PartnerAction.HELD:
        return step_ops.held(state, StepHeld(step=answer.step, note=answer.note, by=by), None, now, link)
    if answer.action is PartnerAction.CANCELLED:
        return step_ops.cancel(state, CancelStep(step=answer.step, note=answer.note, by=by), None, now, link)
    assert answer.at is not None, "a postponement names its new time"
    moved = RescheduleStep(step=answer.step, at=answer.at, note=answer.note, by=by)
    return step_ops.reschedule(
        state, moved, None, now, link, holds_until=now + timedelta(days=MAX_PAUSE_DAYS)
    )


UPDATES: tuple[Update[Any, Any], ...] = (
    # No command: the partner portal sends it (docs/partners.md).
    Update(
        "partner_answer",
        PartnerAnswer,
        check_answer,
        answer,
        "Record a partner's one-click answer from the portal.",
        role="partner",
    ),
)
