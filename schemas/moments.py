"""How a moment is written for people: one format wherever a time is shown.

Every time Passerelle keeps is UTC, so the zone is written out: e-mails, the Web UI's current
details and the terminal all read `2026-11-26 18:30 UTC`. Tables that say `(UTC)` in their header
leave it out. A planned step is the exception: people meet at a time of their own zone, so its
time is written in the invitations' zone (`schemas.steps.CALENDAR_ZONE`), and the words around it
say which (`in_zone`).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

NONE = "—"


def minute(moment: datetime | None, *, zone: bool = True) -> str:
    """Return `2026-11-26 18:30 UTC` (or without ` UTC`), or `—` when there is no moment."""
    if moment is None:
        return NONE
    return moment.strftime("%Y-%m-%d %H:%M UTC" if zone else "%Y-%m-%d %H:%M")


def second(moment: datetime) -> str:
    """Return `2026-11-26 18:30:05`, for timelines read line by line."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def in_zone(moment: datetime, zone: str) -> str:
    """Return `2026-11-26 19:30`, the wall-clock time of `moment` in the time zone `zone`."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
