"""Readable terminal output: the status panel and the collaborations table (Rich)."""

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from schemas import CollaborationStatus
from schemas.moments import minute as _when

console = Console()


def show_status(status: CollaborationStatus, with_history: bool = True) -> None:
    """Print a collaboration's status as a panel followed by its history.

    A history longer than the terminal goes through the pager when the output is a terminal.
    """
    since = status.closed_at or status.stage_since
    lines = [
        f"[bold]{status.corporate} × {status.startup}[/bold]: {status.topic}",
        f"Programme   {status.programme}",
        f"Stage       {status.outcome or status.stage} (since {_when(since)})",
        f"SLA         {status.sla}   next reminder {_when(status.next_reminder_at)}",
        f"Reminders   {status.reminders_sent} sent, {status.escalations} escalation(s)",
        f"Paused      {'yes' if status.paused else 'no'}   stalled {'yes' if status.stalled else 'no'}",
    ]
    lines.append(f"Entries     {status.entries} recorded")
    console.print(Panel("\n".join(lines), title=status.workflow_id, expand=False))
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
