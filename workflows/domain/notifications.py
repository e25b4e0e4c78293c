"""Which notification each recorded event sends, and to whom: a pure decision of the workflow.

The idempotency key is derived from the collaboration and the event's sequence number, which are
fixed by workflow history: a retried activity or a replay yields the same key, and the outbox
sends each key once per channel (a crash between a send and its mark may repeat it once after the
lease; SMTP's Message-ID and the webhook's Idempotency-Key make that duplicate recognisable).
"""

import json
from typing import Any

from schemas import EventKind, HistoryEntry, Notification, NotificationEvent, Recipient
from schemas.privacy import is_pseudonym
from schemas.steps import CALENDAR_ZONE
from workflows.domain import gates, views
from workflows.domain.state import CollaborationState

_EVENTS: dict[EventKind, NotificationEvent] = {
    EventKind.STARTED: NotificationEvent.STARTED,
    EventKind.STAGE_CHANGED: NotificationEvent.STAGE_CHANGED,
    # Sent for every milestone; which kinds actually go out is the worker's configuration
    # (PASSERELLE_NOTIFY_MILESTONES), decided by the outbox (`Outbox.wanted`) at delivery, never
    # in workflow code.
    EventKind.MILESTONE: NotificationEvent.MILESTONE,
    EventKind.REMINDER: NotificationEvent.REMINDER,
    EventKind.ESCALATION: NotificationEvent.ESCALATION,
    EventKind.REMINDERS_STOPPED: NotificationEvent.REMINDERS_STOPPED,
    EventKind.CLOSED: NotificationEvent.CLOSED,
    EventKind.APPROVAL_REQUESTED: NotificationEvent.APPROVAL_REQUESTED,
    EventKind.APPROVAL_REMINDER: NotificationEvent.APPROVAL_REQUESTED,
    EventKind.APPROVED: NotificationEvent.APPROVAL_ANSWERED,
    EventKind.REJECTED: NotificationEvent.APPROVAL_ANSWERED,
    EventKind.PARTNER_UPDATE: NotificationEvent.PARTNER_ANSWER,
    EventKind.STEP_PLANNED: NotificationEvent.STEP_INVITATION,
    EventKind.STEP_RESCHEDULED: NotificationEvent.STEP_INVITATION,
    EventKind.STEP_CANCELLED: NotificationEvent.STEP_INVITATION,
    EventKind.STEP_MISSED: NotificationEvent.STEP_MISSED,
    EventKind.DECISION_OVERDUE: NotificationEvent.DECISION_OVERDUE,
}
# A partner's "we're on it" is the news the reminders asked for: it tells nobody. The other answers
# need the owner (help, a pause, a withdrawal to confirm).
_QUIET_ANSWERS = frozenset({"on_it"})


def notification_for(state: CollaborationState, entry: HistoryEntry) -> Notification | None:
    """Return the notification an entry sends, or None for events that notify nobody."""
    event = _EVENTS.get(entry.kind)
    details = entry.details or {}
    if entry.kind is EventKind.STEP_HELD and details.get("party"):  # a partner's answer: the owner hears it
        event = NotificationEvent.PARTNER_ANSWER
    if event is None or entry.effective_at is not None:  # imported history: long past, tell nobody
        return None
    if event is NotificationEvent.PARTNER_ANSWER and details.get("action") in _QUIET_ANSWERS:
        return None
    imported = state.request.imported
    if imported is not None and imported.outcome is not None:  # imported already over: nothing to say
        return None
    request = state.request
    parties = [
        Recipient(name=request.corporate.name, email=request.corporate.contact_email, role="corporate"),
        Recipient(name=request.startup.name, email=request.startup.contact_email, role="startup"),
    ]
    owner = Recipient(name=request.programme, email=request.owner_email, role="owner")
    # An approval goes to its approvers; the owner stands in when the playbook names nobody.
    approvers = [Recipient(name=a, email=a, role="approver") for a in details.get("approvers", [])] or [owner]
    recipients = {
        NotificationEvent.STEP_INVITATION: _invited(details.get("with", []), parties, owner),
        NotificationEvent.STEP_MISSED: [*parties, owner],
        NotificationEvent.DECISION_OVERDUE: _deciders(state, owner) if details.get("escalation") else [owner],
        NotificationEvent.ESCALATION: [owner],
        NotificationEvent.REMINDERS_STOPPED: [owner],
        NotificationEvent.CLOSED: [*parties, owner],
        NotificationEvent.APPROVAL_REQUESTED: approvers,
        NotificationEvent.APPROVAL_ANSWERED: [owner],
        NotificationEvent.PARTNER_ANSWER: [owner],
    }.get(event, parties)
    # An address erased with no replacement is a pseudonym: nobody is written to in its place.
    recipients = [r for r in recipients if not is_pseudonym(r.email)]
    if not recipients:
        return None
    context = {
        "workflow_id": state.workflow_id,
        "corporate": request.corporate.name,
        "startup": request.startup.name,
        "programme": request.programme,
        "topic": request.topic,
        "stage": entry.stage.value,
        "to_stage": entry.to_stage.value if entry.to_stage else "",
        "outcome": entry.outcome.value if entry.outcome else "",
        "actor": entry.actor,
        "note": entry.note,
        "at": entry.at.isoformat(),
        "reminder_number": str(entry.reminder_number or ""),
        "days_idle": f"{max(state.days_since(state.clock_start, entry.at), 0):g}",
        "milestone": entry.milestone or "",
        "evidence_url": entry.evidence_url or "",
        "next_reminder_at": state.next_reminder_at.isoformat() if state.next_reminder_at else "",
        # Playbook runs: the gates ahead (stage e-mails show them) and an approval's facts.
        "checklist": "\n".join(views.checklist_lines(views.checklist(state))),
        "playbook": state.progress.label if state.progress else "",
        "approval_for": str(details.get("for", "")),
        "requested_by": str(details.get("requested_by", "")),
        "answer": entry.kind.value if event is NotificationEvent.APPROVAL_ANSWERED else "",
        # The e-mail's event: the partner links it carries name it (`activities.links`).
        "seq": str(entry.seq),
        # A partner's answer: who, what, until when (`workflows.domain.partner_ops`).
        "party": str(details.get("party", "")),
        "partner_action": str(details.get("action", "")),
        "until": str(details.get("until", "")),
        # A planned step: the invitation's facts (`activities.calendar`), the step the links name.
        "step": str(details.get("step", "")),
        "step_kind": str(details.get("kind", "")),
        "step_at": str(details.get("at", "")),
        "previous_at": str(details.get("previous_at", "")),
        "calendar": _calendar(state, entry, details) if event is NotificationEvent.STEP_INVITATION else "",
        "decision_on": state.decision.on.isoformat() if state.decision else "",
    }
    return Notification(
        key=f"{state.collaboration_id}/{entry.seq}/{event.value}",
        collaboration_id=state.collaboration_id,
        workflow_id=state.workflow_id,
        event=event,
        language=request.language,
        recipients=recipients,
        context=context,
    )


def _invited(addresses: list[str], parties: list[Recipient], owner: Recipient) -> list[Recipient]:
    """Return a step's invited people, a party's contact under its party's role (its e-mail then
    carries the party's answer links), and the owner, who organises it."""
    by_address = {p.email.lower(): p for p in parties}
    invited = [by_address.get(a.lower()) or Recipient(name=a, email=a, role="attendee") for a in addresses]
    return [*invited, owner] if owner.email.lower() not in {a.lower() for a in addresses} else invited


def _deciders(state: CollaborationState, owner: Recipient) -> list[Recipient]:
    """Return the owner and whoever approves the move to deployment (the playbook's approvers)."""
    if state.progress is None:
        return [owner]
    approvers = gates.approvers_of(state.progress, "deployment", state.contacts)
    return [
        owner,
        *(Recipient(name=a, email=a, role="approver") for a in approvers if a != owner.email.lower()),
    ]


def _calendar(state: CollaborationState, entry: HistoryEntry, details: dict[str, Any]) -> str:
    """Return the invitation of a step's entry, as JSON: what `activities.calendar` writes as
    iCalendar. One `uid` per step for the collaboration's whole life, so that a calendar updates
    or removes the event it has."""
    request = state.request
    invitation = {
        "uid": f"{state.collaboration_id}-{details['step']}@passerelle",
        "sequence": details["sequence"],
        "method": "CANCEL" if entry.kind is EventKind.STEP_CANCELLED else "REQUEST",
        "kind": details["kind"],
        "start": details["at"],
        "minutes": details["minutes"],
        "where": details.get("where", ""),
        "note": entry.note or details.get("note", ""),
        "summary": f"{request.corporate.name} × {request.startup.name}: {details['kind']}",
        "organizer": request.owner_email,
        "attendees": [a for a in details.get("with", []) if not is_pseudonym(a)],  # erased: invited no more
        "time_zone": CALENDAR_ZONE,
        "stamp": entry.at.isoformat(),
    }
    return json.dumps(invitation, sort_keys=True, ensure_ascii=False)
