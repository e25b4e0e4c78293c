"""Readable terminal output: the status panel and the collaborations table (Rich).

Names, notes, kinds, reasons and ids are whatever partners and operators typed. Every console
here reads text as text: no markup (`[/bold]` would crash a panel, `[link=…]` would print a
clickable link), no `:emoji:` codes, no highlighting. Styles are applied to `Text` objects by this
code, never parsed out of a value. Control characters cannot reach a console at all: the schemas
refuse them in every text field.
"""

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from passerelle.audit.timeline import Line, StageTime, human
from schemas import CollaborationStatus
from schemas.moments import minute as _when


def plain_console(*, stderr: bool = False, **options: Any) -> Console:
    """Return a console that prints every string verbatim (see the module docstring)."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, **options)


console = plain_console()


def show_status(status: CollaborationStatus, with_history: bool = True) -> None:
    """Print a collaboration's status as a panel followed by its history.

    A history longer than the terminal goes through the pager when the output is a terminal.
    """
    since = status.closed_at or status.stage_since
    title = Text.assemble((f"{status.corporate} × {status.startup}", "bold"), f": {status.topic}")
    lines = [
        f"Programme   {status.programme}",
        f"Stage       {status.outcome or status.stage} (since {_when(since)})",
        f"SLA         {status.sla}   next reminder {_when(status.next_reminder_at)}",
        f"Reminders   {status.reminders_sent} sent, {status.escalations} escalation(s)",
        f"Paused      {'yes' if status.paused else 'no'}   stalled {'yes' if status.stalled else 'no'}",
    ]
    lines.append(f"Entries     {status.entries} recorded")
    if status.playbook:
        lines.append(f"Playbook    {status.playbook}")
        for item in status.checklist:
            mark = "done   " if item.done else "MISSING"
            lines.append(f"  {mark} {item.gate}: {item.item}  [{item.who}]")
    names = {"startup": status.startup, "corporate": status.corporate}
    for seen in status.partner_answers:
        until = f" until {_when(seen.until)}" if seen.until else ""
        note = f": {seen.note}" if seen.note else ""
        lines.append(
            f"Answered    {names[seen.party]} ({seen.party}) {seen.action}{until} on {_when(seen.at)}{note}"
        )
    if status.withdrawal is not None:
        w = status.withdrawal
        lines.append(
            f"Withdrawal  proposed by {names[w.party]} on {_when(w.at)}: {w.reason} "
            "(confirm with `passerelle close --outcome declined|abandoned`)"
        )
    for party in status.erased_parties:
        lines.append(
            f"Erased      the {party} contact (no replacement): nobody is written to in its place; "
            "reminders paused until resumed"
        )
    if status.erasure_under_way:
        lines.append("Erasure     under way: moving to a new data key")
    body = Text("\n").join([title, *(Text(line) for line in lines)])
    console.print(Panel(body, title=Text(status.workflow_id), expand=False))
    if not with_history:
        return
    table = Table("#", "when (UTC)", "event", "stage", "by", "note")
    for e in status.history:
        what = e.kind.value + (f" → {e.to_stage}" if e.to_stage else "")
        what += f" {e.milestone}" if e.milestone else ""
        what += f" {e.outcome}" if e.outcome else ""
        when = _when(e.effective_at or e.at)  # an imported event: when it really happened
        table.add_row(str(e.seq), when, what, e.stage, e.actor, e.note[:60])
    if console.is_terminal and len(status.history) > console.height:
        with console.pager():
            console.print(table)
    else:
        console.print(table)


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


def show_timeline(lines: Sequence[Line], times: Sequence[StageTime], title: str, out: Console) -> None:
    """Print an audit timeline and the time spent in each stage as two tables."""
    table = Table("when (UTC)", "run", "seq", "event", "stage", "by", "detail", title=Text(title))
    for line in lines:
        table.add_row(*line.cells())
    out.print(table)
    spent = Table("stage", "visits", "time", "of which paused", title="Time in each stage")
    for t in times:
        spent.add_row(t.stage.value, str(t.visits), human(t.total), human(t.paused))
    out.print(spent)
