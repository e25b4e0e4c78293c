"""Consoles that print text as text, and the collaborations table (Rich, nothing else).

Names, notes, kinds, reasons and ids are whatever partners and operators typed. Every console
here reads text as text: no markup (`[/bold]` would crash a panel, `[link=…]` would print a
clickable link), no `:emoji:` codes, no highlighting. Styles are applied to `Text` objects by the
code, never parsed out of a value. Control characters cannot reach a console at all: the schemas
refuse them in every text field. `list` prints through this module alone, without the contract.
"""

from typing import Any

from rich.console import Console
from rich.table import Table


def plain_console(*, stderr: bool = False, **options: Any) -> Console:
    """Return a console that prints every string verbatim (see the module docstring)."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, **options)


console = plain_console()


def show_list(rows: list[dict[str, object]]) -> None:
    """Print collaborations (visibility rows) as a table."""
    table = Table("workflow id", "corporate", "start-up", "programme", "stage", "stalled", "paused", "status")
    for row in rows:
        stage = row["outcome"] or row["stage"]
        flags = ["yes" if row[k] else "no" for k in ("stalled", "paused")]
        table.add_row(
            str(row["workflow_id"]),
            str(row["corporate"]),
            str(row["startup"]),
            str(row["programme"]),
            str(stage),
            *flags,
            str(row["status"]),
        )
    console.print(table)
    console.print(f"{len(rows)} collaboration(s)")
