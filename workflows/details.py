"""The markdown the Web UI shows as a collaboration's current details."""

from datetime import datetime

from workflows.state import CollaborationState


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def current_details(state: CollaborationState, now: datetime) -> str:
    """Return a short markdown summary: parties, stage, SLA, next deadline, last event."""
    request = state.request
    stage = state.outcome.value if state.outcome else state.stage.value
    last = state.history[-1] if state.history else None
    last_line = (
        f"{last.kind.value}{f' ({last.milestone})' if last.milestone else ''} by {last.actor}"
        f" on {_when(last.at)}"
        if last
        else "—"
    )
    return "\n".join(
        [
            f"**{request.corporate.name} × {request.startup.name}**: {request.topic}",
            "",
            f"- **Stage**: {stage} (since {_when(state.closed_at or state.stage_since)})",
            f"- **SLA**: {state.sla(now).value}",
            f"- **Next reminder**: {_when(state.next_reminder_at)}",
            f"- **Reminders sent**: {state.reminders_sent}, escalations: {state.escalations}",
            f"- **Last event**: {last_line}",
            f"- **Programme**: {request.programme} ({request.sector})",
        ]
    )
