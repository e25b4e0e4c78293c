"""The portal's form: what a partner typed, checked field by field in the partner's words.

The portal checks the note, the pause's date and a postponement's new time itself, so that a
mistake is shown on the form in the partner's language, naming the field; `PartnerAnswer` and the
workflow's validator check again, and stay the source of truth.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from activities.links import Link
from passerelle.portal import steps
from passerelle.portal.texts import texts
from schemas.partners import MAX_PAUSE_DAYS, PARTNER_NOTE_MAX, PartnerAction, PartnerAnswer


def note_label(t: dict[str, str], action: str) -> str:
    """Return the label of the note field for `action`: required for help and for a withdrawal."""
    return {"need_help": t["field.need_help"], "stopped": t["field.stopped"]}.get(action, t["field.note"])


def read_answer(link: Link, form: Mapping[str, Any], language: str) -> tuple[PartnerAnswer | None, list[str]]:
    """Return the answer a posted form asks for, or the errors naming each bad field and its rule."""
    t = texts(language)
    note = str(form.get("note", "")).strip()
    label = note_label(t, link.action.value)
    errors = []
    if link.action in (PartnerAction.NEED_HELP, PartnerAction.STOPPED) and not note:
        errors.append(t["error.note_required"].format(field=label))
    if len(note) > PARTNER_NOTE_MAX:
        errors.append(t["error.note_long"].format(field=label, max=PARTNER_NOTE_MAX))
    days = None
    if link.action is PartnerAction.PAUSE:
        today = datetime.now(UTC).date()
        try:
            days = (date.fromisoformat(str(form.get("until", ""))) - today).days
        except ValueError:
            days = None
        if days is None or not 1 <= days <= MAX_PAUSE_DAYS:
            first, last = today + timedelta(days=1), today + timedelta(days=MAX_PAUSE_DAYS)
            errors.append(t["error.until"].format(field=t["field.until"], min=first, max=last))
    at = None
    if link.action is PartnerAction.POSTPONED:
        now = datetime.now(UTC)
        at = steps.read_at(str(form.get("at", "")), now)
        if at is None:
            errors.append(steps.error(t, now))
    if errors:
        return None, errors
    try:
        answer = PartnerAnswer(
            party=link.party,
            action=link.action,
            link=link.id,
            answered_seq=link.seq,
            note=note,
            days=days,
            step=link.step or None,
            at=at,
        )
    except ValidationError as err:  # the model's own rules (control characters...)
        return None, [f"{'.'.join(map(str, e['loc'])) or label}: {e['msg']}" for e in err.errors()]
    return answer, []
