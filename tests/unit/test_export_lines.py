"""An export line's playbook column says the version and the approval a sponsor waits on."""

from datetime import UTC, datetime
from typing import Any

from passerelle.reads.collaborations import line_of

AT = datetime(2025, 3, 3, 14, 35, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workflow_id": "collab-a-b", "corporate": "A", "corporate_email": "a@a.example", "startup": "B",
        "startup_email": "b@b.example", "startup_label": None, "programme": "Coalition Next", "topic": "T",
        "sector": "health", "owner_email": "o@p.example", "language": "fr", "stage": "qualification",
        "stage_since": AT, "outcome": None, "closed_at": None, "stalled": False, "paused": False,
        "dates": {"introduction": "2025-03-01T00:00:00+00:00", "qualification": AT.isoformat()},
        "last_event": "approval_requested", "last_event_at": AT, "reminders": 2, "escalations": 1,
        "playbook": "Coalition Next v1", "approval": "approval_requested", "approval_for": "pilot",
        "days_to_poc": None, "days_pilot_to_decision": None, "days_to_first_meeting": None,
        "steps_held": 0, "steps_postponed": 0, "steps_cancelled": 0, "steps_missed": 0,
    }  # fmt: skip
    return base | changes


def test_the_playbook_column_names_the_pending_granted_or_refused_approval() -> None:
    assert line_of(row()).values["playbook"] == "Coalition Next v1: awaiting approval for pilot"  # type: ignore[arg-type]
    assert line_of(row(approval="approved")).values["playbook"] == "Coalition Next v1: approved for pilot"  # type: ignore[arg-type]
    assert line_of(row(approval="rejected")).values["playbook"] == "Coalition Next v1: rejected for pilot"  # type: ignore[arg-type]
    assert line_of(row(approval=None)).values["playbook"] == "Coalition Next v1"  # type: ignore[arg-type]
    closed = row(outcome="declined", closed_at=AT)
    assert line_of(closed).values["playbook"] == "Coalition Next v1"  # type: ignore[arg-type]
    assert line_of(row(playbook=None, approval=None)).values["playbook"] == ""  # type: ignore[arg-type]


def test_stage_dates_are_instants_and_stages_not_reached_are_empty() -> None:
    values = line_of(row()).values  # type: ignore[arg-type]
    assert values["introduction_date"] == datetime(2025, 3, 1, tzinfo=UTC)
    assert values["qualification_date"] == AT
    assert values["pilot_date"] is None and values["closed_date"] is None
    assert (values["reminders"], values["escalations"]) == (2, 1)
