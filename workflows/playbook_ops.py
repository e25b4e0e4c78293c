"""The playbook operations of a collaboration: adopt a version, ask for and answer approvals, score.

Each function takes the `CollaborationState`, runs its rule (`workflows.rules`, which reads
`workflows.gates`), changes the state and returns the entries to record, like the state's own
operations. An approval request, an answer and a scorecard are news: they restart the stall
clock. Pure: `now` is the workflow's time.
"""

from datetime import datetime, timedelta

from schemas import EventKind, HistoryEntry
from schemas.playbooks import Approval, ApprovalRequest, PlaybookAdoption, PlaybookLoad, Rejection, Scorecard
from workflows import gates, rules
from workflows.progress import PendingApproval, PlaybookConflict
from workflows.reminders import next_reminder
from workflows.state import CollaborationState


def start_under(state: CollaborationState, load: PlaybookLoad, now: datetime) -> list[HistoryEntry]:
    """Run a starting collaboration under its programme's current playbook, if it has one."""
    if load.found is None:
        return []
    state.gates = gates.begin(load.found, state.stage, load.milestones)
    _rearm(state)
    return [_adopted(state, "system", now)]


def adopt(
    state: CollaborationState, adoption: PlaybookAdoption, load: PlaybookLoad, now: datetime
) -> HistoryEntry:
    """Move the collaboration to a newer version, or refuse one that would break it."""
    rules.check_adopt(state, adoption)
    if load.found is None:
        raise PlaybookConflict(
            f"programme {state.request.programme} has no playbook version {adoption.version}"
        )
    gates.check_compatible(state.gates, load.found)
    state.gates = gates.adopt(state.gates, load.found, state.stage, load.milestones)
    _rearm(state)
    return _adopted(state, adoption.by, now)


def request_approval(state: CollaborationState, request: ApprovalRequest, now: datetime) -> HistoryEntry:
    """Open the approval of a move; its approvers are reminded while it stays pending."""
    rules.check_request_approval(state, request)
    progress = state.gates
    assert progress is not None  # the rule refuses a collaboration without a playbook
    progress.pending = PendingApproval(
        target=request.for_,
        requested_by=request.by,
        requested_at=now,
        note=request.note,
        next_reminder_at=now + _approval_threshold(state),
    )
    approvers = gates.approvers_of(progress, request.for_, state.contacts)
    entry = state.append(
        EventKind.APPROVAL_REQUESTED,
        now,
        actor=request.by,
        note=request.note,
        details={"for": request.for_, "approvers": approvers},
    )
    state.restart_clock(now)
    return entry


def approve(state: CollaborationState, approval: Approval, now: datetime) -> HistoryEntry:
    """Grant the pending approval: the move it was for may be made."""
    rules.check_approve(state, approval)
    return _answer(state, EventKind.APPROVED, approval.by, approval.note, now)


def reject(state: CollaborationState, rejection: Rejection, now: datetime) -> HistoryEntry:
    """Refuse the pending approval; a new one may be requested."""
    rules.check_reject(state, rejection)
    return _answer(state, EventKind.REJECTED, rejection.by, rejection.reason, now)


def score(state: CollaborationState, card: Scorecard, now: datetime) -> HistoryEntry:
    """Record one evaluator's scorecard; it replaces that evaluator's previous one."""
    rules.check_score(state, card)
    progress = state.gates
    assert progress is not None and progress.playbook.playbook.scorecard is not None
    names = {c.name.casefold(): c.name for c in progress.playbook.playbook.scorecard.criteria}
    scores = {names[k.casefold()]: v for k, v in card.scores.items()}
    evaluator = gates.by_key(card.by)
    replaces = evaluator in progress.scores
    progress.scores[evaluator] = scores
    mean = gates.weighted_mean(progress)
    entry = state.append(
        EventKind.SCORED,
        now,
        actor=card.by,
        note=card.note,
        details={
            "scores": scores,
            "replaces_previous": replaces,
            "evaluators": len(progress.scores),
            "weighted_mean": round(mean or 0, 4),
        },
    )
    state.restart_clock(now)
    return entry


def remind_approvers(state: CollaborationState, now: datetime) -> list[HistoryEntry]:
    """Remind the approvers of the pending approval; back off like stall reminders, then stop."""
    progress = state.gates
    assert progress is not None and progress.pending is not None
    pending = progress.pending
    pending.reminders += 1
    pending.next_reminder_at = next_reminder(
        now, _approval_threshold(state), pending.reminders, state.request.escalate_after_reminders
    )
    days = round((now - pending.requested_at).total_seconds() / 86400, 2)
    return [
        state.append(
            EventKind.APPROVAL_REMINDER,
            now,
            actor="system",
            reminder_number=pending.reminders,
            note=f"approval for {pending.target} pending for {days:g} days",
            details={
                "for": pending.target,
                "requested_by": pending.requested_by,
                "approvers": gates.approvers_of(progress, pending.target, state.contacts),
            },
        )
    ]


def _answer(state: CollaborationState, kind: EventKind, by: str, note: str, now: datetime) -> HistoryEntry:
    progress = state.gates
    assert progress is not None and progress.pending is not None
    pending = progress.pending
    if kind is EventKind.APPROVED:
        progress.approved[pending.target] = by
    progress.pending = None
    entry = state.append(
        kind,
        now,
        actor=by,
        note=note,
        details={
            "for": pending.target,
            "requested_by": pending.requested_by,
            "waited_seconds": round((now - pending.requested_at).total_seconds(), 3),
        },
    )
    state.restart_clock(now)
    return entry


def _approval_threshold(state: CollaborationState) -> timedelta:
    assert state.gates is not None
    return timedelta(days=state.gates.playbook.playbook.approval_reminder_days)


def _rearm(state: CollaborationState) -> None:
    """Re-arm the stall reminder with the playbook's thresholds, keeping any snooze."""
    if state.next_reminder_at is None or state.unanswered_reminders:
        return
    due = state.clock_start + state.threshold
    state.next_reminder_at = max(due, state.snoozed_until) if state.snoozed_until else due


def _adopted(state: CollaborationState, by: str, now: datetime) -> HistoryEntry:
    assert state.gates is not None
    version = state.gates.playbook
    return state.append(
        EventKind.PLAYBOOK_ADOPTED,
        now,
        actor=by,
        note=version.label,
        details={
            "programme": version.playbook.programme,
            "version": version.version,
            "sha256": version.sha256,
        },
    )
