"""What the workflow hands to activities: milestone rows, projections and notifications."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.privacy import Contact
from schemas.stages import Outcome, Stage
from schemas.steps import StepKind


class EventKind(StrEnum):
    """The kind of a milestone row; every row an auditor reads has one."""

    STARTED = "started"
    STAGE_CHANGED = "stage_changed"
    MILESTONE = "milestone"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    REMINDERS_STOPPED = "reminders_stopped"  # the cap of unanswered reminders in a stage is reached
    PAUSED = "paused"
    RESUMED = "resumed"
    SNOOZED = "snoozed"
    CLOSED = "closed"
    IMPORTED = "imported"  # a past stage entry from a spreadsheet, dated by `effective_at`
    # Playbooks (docs/playbooks.md); `details` holds what each one decided.
    PLAYBOOK_ADOPTED = "playbook_adopted"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_REMINDER = "approval_reminder"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCORED = "scored"
    # A partner's one-click answer (docs/partners.md); `details` holds the action, party and link.
    PARTNER_UPDATE = "partner_update"
    # An erased address (docs/privacy.md); `details` holds its pseudonym, never the address.
    CONTACT_ERASED = "contact_erased"
    # Planned next steps and decision dates (docs/operators.md); `details` holds the step as it
    # stands (`workflows.domain.steps.step_details`), or the decision date.
    STEP_PLANNED = "step_planned"
    STEP_RESCHEDULED = "step_rescheduled"
    STEP_CANCELLED = "step_cancelled"
    STEP_HELD = "step_held"
    STEP_MISSED = "step_missed"
    DECISION_DATE_SET = "decision_date_set"
    DECISION_OVERDUE = "decision_overdue"


class HistoryEntry(BaseModel):
    """One recorded event of a collaboration, numbered by `seq` (1, 2, 3... across all runs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    kind: EventKind
    at: datetime
    stage: Stage
    actor: str
    to_stage: Stage | None = None
    outcome: Outcome | None = None
    milestone: str | None = None
    note: str = ""
    evidence_url: str | None = None
    reminder_number: int | None = None
    effective_at: datetime | None = None  # when it really happened, for imported events
    # Structured facts of playbook events: the gate a move passed and its evidence, the approval's
    # target and wait, an evaluator's scores, the version adopted (JSONB `milestones.details`).
    details: dict[str, Any] | None = None


class Projection(BaseModel):
    """The `collaborations` row: the current state, for reporting and SQL access."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collaboration_id: str
    workflow_id: str
    corporate: str
    startup: str
    programme: str
    sector: str
    topic: str
    stage: Stage
    stage_since: datetime
    outcome: Outcome | None
    stalled: bool
    paused: bool
    started_at: datetime
    updated_at: datetime
    # The contacts, so that the row can be exported and imported elsewhere. Optional: a record
    # scheduled by an earlier worker has none, and then leaves the row's own ones as they are.
    corporate_email: str | None = None
    startup_email: str | None = None
    startup_label: str | None = None
    owner_email: str | None = None
    language: str | None = None
    # The soonest planned step not missed and the go/no-go date (`workflows.domain.steps`).
    # Optional as the contacts are: `decision_overdue` is None only in a record scheduled by an
    # earlier worker, which then leaves the row's four values as they are.
    next_step_at: datetime | None = None
    next_step_kind: StepKind | None = None
    decision_on: date | None = None
    decision_overdue: bool | None = None


class EventRecord(BaseModel):
    """Input of the record activity: milestone rows of one change plus the projection after it.

    `notifications` are the messages the change sends: they enter the outbox in the same
    statement as the rows, so a delivery needs only its key and survives any run's end.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    entries: list[HistoryEntry]
    projection: Projection
    notifications: list["Notification"] = []


class NotificationEvent(StrEnum):
    """Why a notification is sent; names the template used to render it."""

    STARTED = "started"
    STAGE_CHANGED = "stage_changed"
    MILESTONE = "milestone"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    REMINDERS_STOPPED = "reminders_stopped"
    CLOSED = "closed"
    DIGEST = "digest"
    APPROVAL_REQUESTED = "approval_requested"  # to the approvers; again for each approval reminder
    APPROVAL_ANSWERED = "approval_answered"  # to the owner: approved or rejected
    PARTNER_ANSWER = "partner_answer"  # to the owner: a partner needs help, pauses or has stopped
    # To the invited: an invitation (its context's `calendar`), its update or its cancellation.
    STEP_INVITATION = "step_invitation"
    STEP_MISSED = "step_missed"  # to the parties and the owner: what happened?
    DECISION_OVERDUE = "decision_overdue"  # to the owner and the approvers


class Recipient(BaseModel):
    """Someone a notification goes to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    email: Contact  # a pseudonym only in rows written before an erasure; never sent to
    role: str  # corporate, startup, owner, operators


class Notification(BaseModel):
    """Input of the notify activity. `key` is unique: a channel sends each key once.

    A crash between a send and its `sent` mark may repeat it once after the lease runs out
    (`activities.outbox`); SMTP's Message-ID and the webhook's Idempotency-Key, both from the key,
    make that duplicate recognisable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    collaboration_id: str
    workflow_id: str
    event: NotificationEvent
    language: str
    recipients: list[Recipient]
    context: dict[str, str]


EventRecord.model_rebuild()


class PendingDelivery(BaseModel):
    """An outbox notification still to deliver, and when its delivery window ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    until: datetime


class DeliveryHandover(BaseModel):
    """Input of `DeliveryWorkflow`: what a closed collaboration's run left to deliver (at most
    `workflows.deliveries.MAX_CARRIED_DELIVERIES` keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str  # the collaboration's
    deliveries: list[PendingDelivery]
