"""A spreadsheet cell as the text of a start input: dates read as a French operator writes them.

Dates are accepted as Excel date cells, ISO text (`2025-03-03`, or an instant with its offset as
`passerelle export` writes it) and day-first text: `03/03/2025`, `3/3/25`, `03.03.2025`, with an
optional `14:35` time. Month-first text is never guessed: `03/15/2025` is refused with the rule,
and `--date-format mm/dd/yyyy` says a file writes months first. A time without an offset, in text
or in an Excel cell (Excel keeps none), is UTC.
"""

import re
from datetime import UTC, date, datetime
from enum import StrEnum

from passerelle.intake.sheets import Cell


class DateFormat(StrEnum):
    """How the file writes dates in text: `--date-format`."""

    DAY_FIRST = "dd/mm/yyyy"
    MONTH_FIRST = "mm/dd/yyyy"
    ISO = "yyyy-mm-dd"


class CellRefused(ValueError):
    """A cell that cannot be what its column holds; the message says the rule."""


_SLASHED = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def text_of(cell: Cell) -> str:
    """Return a non-date cell as text: a whole number without `.0`, other cells as written."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell).strip()


def _instant(value: datetime) -> str:
    """Return a date cell's value: the day alone at midnight, else the instant in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.isoformat().replace("+00:00", "Z")


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _slashed(text: str, found: re.Match[str], order: DateFormat) -> str:
    first, second, year = int(found.group(1)), int(found.group(3)), _year(found.group(4))
    day, month = (first, second) if order is DateFormat.DAY_FIRST else (second, first)
    written = "day first (dd/mm/yyyy)" if order is DateFormat.DAY_FIRST else "month first (mm/dd/yyyy)"
    if not 1 <= month <= 12:
        other = "mm/dd/yyyy" if order is DateFormat.DAY_FIRST else "dd/mm/yyyy"
        raise CellRefused(
            f"{text!r} has no month {month} read {written}; if the file writes dates the other way, "
            f"pass --date-format {other}"
        )
    try:
        day_of = date(year, month, day)
    except ValueError as err:
        raise CellRefused(f"{text!r} is not a date ({err})") from None
    if found.group(5) is None:
        return day_of.isoformat()
    hour, minute, second_ = int(found.group(5)), int(found.group(6)), int(found.group(7) or 0)
    try:
        return _instant(datetime(year, month, day, hour, minute, second_))
    except ValueError as err:
        raise CellRefused(f"{text!r} is not a time of day ({err})") from None


def date_of(cell: Cell, order: DateFormat = DateFormat.DAY_FIRST) -> str:
    """Return a date cell as ISO text (`2025-03-03`, or an instant in UTC), or "" when empty."""
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return _instant(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        raise CellRefused(f"{cell!r} is a number, not a date: format the column as dates")
    text = str(cell).strip()
    if not text:
        return ""
    if _ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as err:
            raise CellRefused(f"{text!r} is not a date ({err})") from None
    if _ISO_INSTANT.fullmatch(text):
        try:
            return _instant(datetime.fromisoformat(text))
        except ValueError as err:
            raise CellRefused(f"{text!r} is not a date and time ({err})") from None
    found = _SLASHED.fullmatch(text)
    if found and order is not DateFormat.ISO:
        return _slashed(text, found, order)
    accepted = (
        "yyyy-mm-dd (--date-format yyyy-mm-dd)"
        if order is DateFormat.ISO
        else f"{order.value}, {order.value[:-2]} or yyyy-mm-dd"
    )
    raise CellRefused(f"{text!r} is not a date; dates are written {accepted}")
