"""The lifecycle updates: move, record a milestone, close, pause, resume, snooze.

Each is one `Update`: its rule, then its operation, which changes the state and returns the
entry to record (the stall clock of `workflows.domain.state`: a move, a milestone and a resume
are news and restart it; a pause stops the chase; a snooze holds the next reminder). Pure: `now`
is the workflow's time.
"""

from datetime import datetime, timedelta
from typing import Any

from schemas import (
    Closure,
    EventKind,
    HistoryEntry,
    MilestoneRequest,
    Outcome,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    Stage,
    StageChange,
)
from schemas.playbooks import Gate
from workflows.domain import gates, steps
from workflows.domain.rules import Facts, check_open, contacts_of, progress_of
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused, check_move
from workflows.domain.update import Update


class AlreadyPaused(Refused):
    type = "AlreadyPaused"


class NotPaused(Refused):
    type = "NotPaused"


def _check_move(facts: Facts, target: Stage | Outcome) -> Gate | None:
    """Refuse a move or an ending the transition table forbids, or whose gate is unmet; return
    the gate it passes."""
    check_move(facts.stage, facts.outcome, target)
    return gates.check_gate(progress_of(facts), facts.stage, target, contacts_of(facts))


def check_advance(facts: Facts, change: StageChange) -> Gate | None:
    return _check_move(facts, change.to)


def advance(state: CollaborationState, change: StageChange, gate: Gate | None, now: datetime) -> HistoryEntry:
    passed = gates.pass_gate(state.progress, change.to, gate)
    decision = steps.default_decision(state, now) if change.to is Stage.PILOT else None
    if decision is not None:  # a pilot starts with its go/no-go date (the playbook's default)
        state.decision = decision
        passed = (passed or {}) | {"decision_on": decision.on.isoformat()}
    entry = state.append(
        EventKind.STAGE_CHANGED, now, actor=change.by, note=change.note, to_stage=change.to, details=passed
    )
    state.stage, state.stage_since = change.to, now
    state.restart_clock(now)
    return entry


def check_milestone(facts: Facts, milestone: MilestoneRequest) -> None:
    check_open(facts)


def record_milestone(
    state: CollaborationState, milestone: MilestoneRequest, _: None, now: datetime
) -> HistoryEntry:
    url = str(milestone.evidence_url) if milestone.evidence_url else None
    gates.note_milestone(state.progress, milestone.kind, url)
    entry = state.append(
        EventKind.MILESTONE,
        now,
        actor=milestone.by,
        note=milestone.note,
        milestone=milestone.kind,
        evidence_url=url,
    )
    state.restart_clock(now)
    return entry


def check_close(facts: Facts, closure: Closure) -> Gate | None:
    return _check_move(facts, closure.outcome)


def close(state: CollaborationState, closure: Closure, gate: Gate | None, now: datetime) -> HistoryEntry:
    passed = gates.pass_gate(state.progress, closure.outcome, gate)
    entry = state.append(
        EventKind.CLOSED, now, actor=closure.by, note=closure.reason, outcome=closure.outcome, details=passed
    )
    state.outcome, state.closed_at = closure.outcome, now
    if state.progress is not None:
        state.progress.pending = None  # nothing left to approve
    state.withdrawal = None  # decided
    state.stalled, state.next_reminder_at = False, None
    return entry


def check_pause(facts: Facts, pause: PauseRequest) -> None:
    check_open(facts)
    if facts.paused:
        raise AlreadyPaused("the collaboration is already paused")


def pause(state: CollaborationState, pause: PauseRequest, _: None, now: datetime) -> HistoryEntry:
    entry = state.append(EventKind.PAUSED, now, actor=pause.by, note=pause.reason)
    state.paused, state.stalled, state.next_reminder_at = True, False, None
    return entry


def check_resume(facts: Facts, resume: ResumeRequest) -> None:
    check_open(facts)
    if not facts.paused:
        raise NotPaused("the collaboration is not paused")


def resume(state: CollaborationState, resume: ResumeRequest, _: None, now: datetime) -> HistoryEntry:
    entry = state.append(EventKind.RESUMED, now, actor=resume.by)
    state.paused = False
    state.restart_clock(now)
    return entry


def check_snooze(facts: Facts, snooze: SnoozeRequest) -> None:
    check_open(facts)


def snooze(state: CollaborationState, snooze: SnoozeRequest, _: None, now: datetime) -> HistoryEntry:
    until = now + timedelta(days=snooze.days)
    entry = state.append(EventKind.SNOOZED, now, actor=snooze.by, note=f"until {until.isoformat()}")
    state.push_reminder(until)
    return entry


UPDATES: tuple[Update[Any, Any], ...] = (
    Update(
        "advance",
        StageChange,
        check_advance,
        advance,
        "Move a collaboration to another stage (one step forward, evaluation back to pilot).",
        command="advance",
    ),
    Update(
        "record_milestone",
        MilestoneRequest,
        check_milestone,
        record_milestone,
        "Record a milestone (NDA signed, pilot kick-off...) in the current stage.",
        command="milestone",
    ),
    Update(
        "close",
        Closure,
        check_close,
        close,
        "Close a collaboration as deployed, declined or abandoned.",
        command="close",
    ),
    Update(
        "pause", PauseRequest, check_pause, pause, "Pause the reminders of a collaboration.", command="pause"
    ),
    Update(
        "resume",
        ResumeRequest,
        check_resume,
        resume,
        "Resume a paused collaboration; its stall clock restarts now.",
        command="resume",
    ),
    Update(
        "snooze_reminders",
        SnoozeRequest,
        check_snooze,
        snooze,
        "Push the next reminder of a collaboration to at least DAYS from now (fractions allowed).",
        command="snooze",
    ),
)
