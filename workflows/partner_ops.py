"""A partner's one-click answer applied to a collaboration (docs/partners.md).

Every answer is recorded as a `partner_update` entry by `partner:<party>`, with the action, the
party's contact address, the link's id and the e-mail it answered in `details`. An answer is news
from the party the reminders chase, so the stall clock restarts (`stalled` clears); then:
- `need_help` tells the owner at once, with the note (`workflows.notifications`);
- `pause` pushes the next reminder to at least `days` from now, and tells the owner;
- `stopped` leaves a withdrawal proposal and holds the reminders; only the operator's `close`
  ends the collaboration, and the next news (any update that restarts the clock) withdraws it.
The state keeps each party's latest answer only, so it stays bounded. Pure: `now` is the
workflow's time.
"""

from datetime import datetime, timedelta

from schemas import EventKind, HistoryEntry
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.status import NOTE_SHOWN, PartnerAnswerSeen, Withdrawal
from workflows import rules
from workflows.state import CollaborationState


def _short(text: str) -> str:
    return text if len(text) <= NOTE_SHOWN else text[: NOTE_SHOWN - 1] + "…"


def answer(state: CollaborationState, answer: PartnerAnswer, now: datetime) -> HistoryEntry:
    """Record a partner's answer and apply its action."""
    rules.check_partner_answer(state, answer)
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
        state.snoozed_until = until
        if state.next_reminder_at is not None:
            state.next_reminder_at = max(state.next_reminder_at, until)
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
