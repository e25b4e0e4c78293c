"""How a moment is written for people: one format wherever a time is shown.

Every time Passerelle keeps is UTC, so the zone is written out: e-mails, the Web UI's current
details and the terminal all read `2026-11-26 18:30 UTC`. Tables that say `(UTC)` in their header
leave it out. A planned step is the exception: people meet at a time of their own zone, so its
time is written in the invitations' zone (`schemas.steps.CALENDAR_ZONE`), and the words around it
say which (`in_zone`).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from schemas.steps import CALENDAR_ZONE

NONE = "—"
PARIS = ZoneInfo(CALENDAR_ZONE)  # the zone planned steps are typed and invited in


def minute(moment: datetime | None, *, zone: bool = True) -> str:
    """Return `2026-11-26 18:30 UTC` (or without ` UTC`), or `—` when there is no moment."""
    if moment is None:
        return NONE
    return moment.strftime("%Y-%m-%d %H:%M UTC" if zone else "%Y-%m-%d %H:%M")


def second(moment: datetime) -> str:
    """Return `2026-11-26 18:30:05`, for timelines read line by line."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def paris_instant(text: str) -> datetime:
    """Return the instant a person typed: ISO 8601, with an offset, or without one as Europe/Paris
    wall time (`2027-03-30T10:00`, `2027-03-30 10:00`).

    Raise ValueError for a wall time the clocks skip (the spring change's hour) or repeat (the
    autumn's): both are someone's mistake, and guessing would invite people at the wrong hour."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2027-03-30T10:00") from None
    if moment.tzinfo is not None:
        return moment
    local = moment.replace(tzinfo=PARIS)
    first, later = local.utcoffset(), local.replace(fold=1).utcoffset()
    assert first is not None and later is not None, "Europe/Paris has an offset at every moment"
    if first > later:
        raise ValueError(
            f"{text} happens twice in Paris (the clocks go back): add the offset, +02:00 or +01:00"
        )
    if first < later:
        raise ValueError(f"{text} does not exist in Paris (the clocks go forward): choose another time")
    return local


def paris_minute(moment: datetime | None) -> str:
    """Return `2027-03-30 10:00 (Paris)`: a planned step as the people invited read it."""
    if moment is None:
        return NONE
    return f"{in_zone(moment, CALENDAR_ZONE)} (Paris)"


def in_zone(moment: datetime, zone: str) -> str:
    """Return `2026-11-26 19:30`, the wall-clock time of `moment` in the time zone `zone`."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
