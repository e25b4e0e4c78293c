"""Consoles that print text as text, and the collaborations table (Rich, nothing else).

Names, notes, kinds, reasons and ids are whatever partners and operators typed. Every console
here reads text as text: no markup (`[/bold]` would crash a panel, `[link=…]` would print a
clickable link), no `:emoji:` codes, no highlighting. Styles are applied to `Text` objects by the
code, never parsed out of a value. Control characters cannot reach a console at all: the schemas
refuse them in every text field. `list` prints through this module alone, without the contract.

What a terminal would not draw is shown escaped, `\\u202e`: format characters (bidirectional
controls that reorder the rest of the line, zero-width characters, direction marks), line and
paragraph separators, controls but the tab and the line break. Names refuse them
(`schemas.fields`), but a collaboration begun before keeps its names, and notes may hold them:
`Safe\\u202eexe.cod\\u202c Corp` is printed, never "Safedoc.exe Corp". Strings are escaped as a
console renders them (`PlainConsole.render_str`); `Text` built by code goes through `shown`.
"""

import unicodedata
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

_UNDRAWN = frozenset(("Cf", "Zl", "Zp", "Cc"))


def _escaped(ch: str) -> str:
    if ch in "\n\t" or unicodedata.category(ch) not in _UNDRAWN:
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def shown(text: str) -> str:
    """Return `text` as the terminal shows it: what it would not draw written as `\\u202e`."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escaped(ch) for ch in text)


class PlainConsole(Console):
    """A console that escapes what a terminal would not draw in every string it renders."""

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> Text:
        """Render `text` as Rich does, once escaped (`shown`)."""
        return super().render_str(shown(text), *args, **kwargs)


def plain_console(*, stderr: bool = False, **options: Any) -> Console:
    """Return a console that prints every string verbatim (see the module docstring)."""
    return PlainConsole(stderr=stderr, markup=False, emoji=False, highlight=False, **options)


console = plain_console()


def _text(value: object) -> str:
    """Return a cell's text: nothing for a value the workflow never set (a run that failed at start)."""
    return "" if value is None else str(value)


def _next(at: object, decision_overdue: bool) -> str:
    """Return the "next" cell: the soonest planned step in Paris time, as its invitation says
    (`schemas.moments.paris_minute`, not imported: `list` loads no contract), and a decision overdue."""
    when = "—"
    if isinstance(at, str) and at:
        when = (
            datetime.fromisoformat(at).astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M (Paris)")
        )
    return f"{when}, decision overdue" if decision_overdue else when


def show_list(rows: list[dict[str, object]], reasons: bool = False) -> None:
    """Print collaborations (visibility rows) as a table; with `reasons`, why each one failed."""
    columns = ["workflow id", "corporate", "start-up", "programme", "stage", "stalled", "paused", "next"]
    table = Table(*columns, "status", *(["reason"] if reasons else []))
    for row in rows:
        stage = row["outcome"] or row["stage"]
        flags = ["yes" if row[k] else "no" for k in ("stalled", "paused")]
        names = [_text(row[k]) for k in ("workflow_id", "corporate", "startup", "programme")]
        upcoming = _next(row.get("next_step_at"), bool(row.get("decision_overdue")))
        table.add_row(
            *names,
            _text(stage),
            *flags,
            upcoming,
            str(row["status"]),
            *([_text(row["reason"])] if reasons else []),
        )
    console.print(table)
    console.print(f"{len(rows)} collaboration(s)")
