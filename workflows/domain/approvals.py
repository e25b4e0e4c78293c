"""Four eyes: asking for an approval, answering it, and reminding its approvers.

A gate that asks for approval (docs/playbooks.md) is passed once a second person approves: the
requester may not answer, and when the playbook names approvers only they may. An approval
request and an answer are news: they restart the stall clock. Refusal messages name rules,
stages and the playbook, never a person (they travel in clear). Pure: `now` is the workflow's time.
"""

from datetime import datetime, timedelta
from typing import Any

from schemas import EventKind, HistoryEntry, Outcome, Stage
from schemas.playbooks import Approval, ApprovalRequest, Rejection
from workflows.domain.gates import approvers_of
from workflows.domain.identity import same_person
from workflows.domain.progress import (
    ApprovalPending,
    NoApprovalNeeded,
    NoApprovalPending,
    NoPlaybook,
    NotAnApprover,
    PendingApproval,
    Progress,
    SameApprover,
)
from workflows.domain.reminders import next_reminder
from workflows.domain.rules import Facts, check_open, contacts_of, progress_of
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import check_move
from workflows.domain.update import Update


def under_playbook(progress: Progress | None) -> Progress:
    """Return the progress, or refuse an update that needs a playbook."""
    if progress is None:
        raise NoPlaybook("the collaboration runs under no playbook")
    return progress


def check_request(facts: Facts, request: ApprovalRequest) -> None:
    """Refuse a request for a move it may not make from here, that needs no approval, or while
    one is pending."""
    target = Outcome(request.for_) if request.for_ == Outcome.DEPLOYED.value else Stage(request.for_)
    check_move(facts.stage, facts.outcome, target)
    progress = under_playbook(progress_of(facts))
    gate = progress.playbook.gates.get(request.for_)
    if gate is None or not gate.approval:
        raise NoApprovalNeeded(f"playbook {progress.label} asks no approval for {request.for_}")
    if request.for_ in progress.approved:
        raise NoApprovalNeeded(f"{request.for_} is already approved")
    if progress.pending is not None:
        raise ApprovalPending(
            f"an approval for {progress.pending.target} is pending: approve or reject it first"
        )


def request_approval(
    state: CollaborationState, request: ApprovalRequest, _: None, now: datetime
) -> HistoryEntry:
    progress = under_playbook(state.progress)
    progress.pending = PendingApproval(
        target=request.for_,
        requested_by=request.by,
        requester=request.actor,
        requested_at=now,
        note=request.note,
        next_reminder_at=now + _threshold(progress),
    )
    approvers = approvers_of(progress, request.for_, state.contacts)
    entry = state.append(
        EventKind.APPROVAL_REQUESTED,
        now,
        actor=request.by,
        note=request.note,
        details={"for": request.for_, "approvers": approvers},
    )
    state.restart_clock(now)
    return entry


def check_answer(facts: Facts, answer: Approval | Rejection) -> PendingApproval:
    """Refuse an answer when nothing is pending, from the requester, or from a non-approver;
    return the approval it answers."""
    check_open(facts)
    progress = under_playbook(progress_of(facts))
    pending = progress.pending
    if pending is None:
        raise NoApprovalPending("no approval is pending")
    if same_person(pending.requester, pending.requested_by, answer.actor, answer.by):
        raise SameApprover(
            "whoever requested this approval may not answer it: a second person must (four eyes)"
        )
    approvers = approvers_of(progress, pending.target, contacts_of(facts))
    if approvers and answer.by.strip().lower() not in approvers:
        raise NotAnApprover(
            f"only the approvers playbook {progress.label} names for {pending.target} may answer "
            "(`passerelle status` lists them)"
        )
    return pending


def approve(
    state: CollaborationState, approval: Approval, pending: PendingApproval, now: datetime
) -> HistoryEntry:
    return _answer(state, pending, EventKind.APPROVED, approval.by, approval.note, now)


def reject(
    state: CollaborationState, rejection: Rejection, pending: PendingApproval, now: datetime
) -> HistoryEntry:
    return _answer(state, pending, EventKind.REJECTED, rejection.by, rejection.reason, now)


def _answer(
    state: CollaborationState, pending: PendingApproval, kind: EventKind, by: str, note: str, now: datetime
) -> HistoryEntry:
    progress = under_playbook(state.progress)
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


def remind_approvers(state: CollaborationState, now: datetime) -> list[HistoryEntry]:
    """Remind the approvers of the pending approval; back off like stall reminders, then stop."""
    progress = under_playbook(state.progress)
    pending = progress.pending
    assert pending is not None, "the workflow reminds only while an approval is pending"
    pending.reminders += 1
    pending.next_reminder_at = next_reminder(
        now, _threshold(progress), pending.reminders, state.request.escalate_after_reminders
    )
    days = state.days_since(pending.requested_at, now)
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
                "approvers": approvers_of(progress, pending.target, state.contacts),
            },
        )
    ]


def _threshold(progress: Progress) -> timedelta:
    return timedelta(days=progress.playbook.approval_reminder_days)


UPDATES: tuple[Update[Any, Any], ...] = (
    Update(
        "request_approval",
        ApprovalRequest,
        check_request,
        request_approval,
        "Ask a second person to approve a gated move or closing as deployed.",
        command="request-approval",
    ),
    Update(
        "approve",
        Approval,
        check_answer,
        approve,
        "Approve the pending approval (not its requester; one of the playbook's approvers).",
        command="approve",
        role="approver",
    ),
    Update(
        "reject",
        Rejection,
        check_answer,
        reject,
        "Reject the pending approval, with a reason.",
        command="reject",
        role="approver",
    ),
)
