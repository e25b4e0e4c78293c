"""Readable terminal output: the status panel and the audit timeline (Rich).

Every console is a `passerelle.cli.consoles.plain_console`: values print verbatim, never as markup,
and what a terminal would not draw is escaped (`Text` built here goes through `shown`).
"""

from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from passerelle.audit.timeline import Line, StageTime, human
from passerelle.cli.consoles import console, shown
from schemas import CollaborationStatus
from schemas.moments import minute as _when
from schemas.moments import paris_minute


def show_status(status: CollaborationStatus, with_history: bool = True) -> None:
    """Print a collaboration's status as a panel followed by its history.

    A history longer than the terminal goes through the pager when the output is a terminal.
    """
    since = status.closed_at or status.stage_since
    parties = shown(f"{status.corporate} × {status.startup}")
    title = Text.assemble((parties, "bold"), shown(f": {status.topic}"))
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
    lines += step_lines(status)
    body = Text("\n").join([title, *(Text(shown(line)) for line in lines)])
    console.print(Panel(body, title=Text(shown(status.workflow_id)), expand=False))
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


def step_lines(status: CollaborationStatus) -> list[str]:
    """Return the panel's lines of the planned steps (Paris time, as invited) and the decision."""
    lines = []
    for step in status.steps:
        where = f" at {step.where}" if step.where else ""
        missed = "  MISSED: no news, ask what happened" if step.missed else ""
        lines.append(
            f"Next step   {step.id} {step.kind} {paris_minute(step.at)}, {step.minutes} min{where}{missed}"
        )
    c = status.step_counts
    if c.planned:
        lines.append(
            f"Steps       {c.planned} planned: {c.held} held, {c.postponed} postponed, "
            f"{c.cancelled} cancelled, {c.missed} missed"
        )
    if status.decision is not None and status.outcome is None and status.stage != "deployment":
        late = "  DECISION OVERDUE" if status.decision_overdue else ""
        lines.append(f"Decision    go/no-go by {status.decision.on.isoformat()}{late}")
    return lines


def show_timeline(lines: Sequence[Line], times: Sequence[StageTime], title: str, out: Console) -> None:
    """Print an audit timeline and the time spent in each stage as two tables."""
    table = Table(
        "when (UTC)", "run", "seq", "event", "stage", "by", "actor", "detail", title=Text(shown(title))
    )
    for line in lines:
        table.add_row(*line.cells())
    out.print(table)
    spent = Table("stage", "visits", "time", "of which paused", title="Time in each stage")
    for t in times:
        spent.add_row(t.stage.value, str(t.visits), human(t.total), human(t.paused))
    out.print(spent)
