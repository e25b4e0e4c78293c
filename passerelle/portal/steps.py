"""The portal's answers about a planned step: held, postponed to a new date, cancelled.

A step link names its step (`activities.links`); its page says which step, as the e-mail showed
it, and the `postponed` form asks for the new date and time. People meet at a time of their own
zone, so the field is a `datetime-local` read as Europe/Paris time (`schemas.steps.CALENDAR_ZONE`,
the invitations' zone) and turned into an aware instant: ahead of now, and at most
`POSTPONE_MAX_DAYS` away. A time that does not exist there (the hour skipped when the clocks go
forward) is read as the clocks of that night do, one hour later; a time that exists twice (the
hour repeated when they go back) as its first occurrence.
"""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from activities.links import Link
from passerelle.portal.store import Email
from schemas import CollaborationStatus
from schemas.moments import in_zone
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.steps import CALENDAR_ZONE

POSTPONE_MAX_DAYS = 365
# What a `datetime-local` field sends: a date and a time of day, never a zone.
_LOCAL = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?$")
ZONE = ZoneInfo(CALENDAR_ZONE)


def about(t: dict[str, str], link: Link, email: Email) -> str:
    """Return the line that names the step a link answers about, or "" for the other answers."""
    if not link.step:
        return ""
    key = f"about.{email.step_kind}"
    if key not in t or not email.step_at:
        return t["about.step"].format(step=link.step)
    return t[key].format(at=in_zone(datetime.fromisoformat(email.step_at), CALENDAR_ZONE))


def bounds(now: datetime) -> tuple[datetime, datetime]:
    """Return the earliest and the latest new time of a postponement answered at `now`: the next
    minute (the field has no seconds) and `POSTPONE_MAX_DAYS` later."""
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return first, now + timedelta(days=POSTPONE_MAX_DAYS)


def field_value(moment: datetime) -> str:
    """Return `moment` as a `datetime-local` field shows it: `2026-11-26T10:30`, Paris time."""
    return in_zone(moment, CALENDAR_ZONE).replace(" ", "T")


def read_at(value: str, now: datetime) -> datetime | None:
    """Return the instant a `datetime-local` value names in Paris time, or None when it is no
    such value or falls outside `bounds(now)`."""
    if not _LOCAL.match(value.strip()):
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:  # the 31st of February...
        return None
    # Through UTC and back: a skipped wall-clock time becomes the instant it names one hour on.
    at = local.replace(tzinfo=ZONE).astimezone(UTC).astimezone(ZONE)
    first, last = bounds(now)
    return at if first <= at <= last else None


def too_early(t: dict[str, str], status: CollaborationStatus, answer: PartnerAnswer, now: datetime) -> str:
    """Return the error of an "it took place" sent before its step starts, or "" (an invitation
    carries that link from the day the step is planned)."""
    if answer.action is not PartnerAction.HELD:
        return ""
    step = next((s for s in status.steps if s.id == answer.step), None)
    if step is None or step.at <= now:
        return ""  # a step no longer planned: the workflow's refusal says so
    return t["error.held_early"].format(at=in_zone(step.at, CALENDAR_ZONE))


def error(t: dict[str, str], now: datetime) -> str:
    """Return the error of a missing or bad new time: the field, and the rule."""
    first, last = bounds(now)
    return t["error.at"].format(
        field=t["field.at"], min=in_zone(first, CALENDAR_ZONE), max=in_zone(last, CALENDAR_ZONE)
    )
