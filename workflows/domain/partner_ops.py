"""A partner's one-click answer applied to a collaboration (docs/partners.md).

Every answer is recorded as a `partner_update` entry by `partner:<party>`, with the action, the
party's contact address, the link's id and the e-mail it answered in `details`. An answer is news
from the party the reminders chase, so the stall clock restarts (`stalled` clears); then:
- `need_help` tells the owner at once, with the note (`workflows.domain.notifications`);
- `pause` pushes the next reminder to at least `days` from now, and tells the owner;
- `stopped` leaves a withdrawal proposal and holds the reminders; only the operator's `close`
  ends the collaboration, and the next news (any update that restarts the clock) withdraws it.
The state keeps each party's latest answer only, so it stays bounded. Pure: `now` is the
workflow's time.
"""

from datetime import datetime, timedelta
from typing import Any

from schemas import EventKind, HistoryEntry
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.status import NOTE_SHOWN, PartnerAnswerSeen, Withdrawal
from workflows.domain.lifecycle import AlreadyPaused
from workflows.domain.rules import Facts, check_open
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.update import Update


class LinkUsed(Refused):
    """A partner's link that already answered (the portal refuses it first; this is the backstop)."""

    type = "LinkUsed"


def _short(text: str) -> str:
    return text if len(text) <= NOTE_SHOWN else text[: NOTE_SHOWN - 1] + "…"


def check_answer(facts: Facts, answer: PartnerAnswer) -> None:
    check_open(facts)
    if answer.action is PartnerAction.PAUSE and facts.paused:
        raise AlreadyPaused("the programme has already paused the collaboration")
    answers = getattr(facts, "partner_answers", [])  # only the workflow's state has them
    if any(seen.link == answer.link for seen in answers):
        raise LinkUsed("this link has already answered")


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
    entry = state.append(
        EventKind.PARTNER_UPDATE, now, actor=f"partner:{answer.party}", note=answer.note, details=details
    )
    state.restart_clock(now)
    if until is not None:
        state.push_reminder(until)
    if answer.action is PartnerAction.STOPPED:
        state.withdrawal = Withdrawal(party=answer.party, at=now, seq=entry.seq, reason=_short(answer.note))
        state.next_reminder_at = None  # nobody is chased while the operator decides
    seen = PartnerAnswerSeen(
        party=answer.party,
        action=answer.action.value,
        at=now,
        seq=entry.seq,
        link=answer.link,
        note=_short(answer.note),
        until=until,
    )
    state.partner_answers = [*(a for a in state.partner_answers if a.party != answer.party), seen]
    return entry


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
