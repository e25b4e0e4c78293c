"""The state of one collaboration: its stall clock, its reminders and the entries it keeps.

The workflow owns a `CollaborationState`; the updates' operations (`workflows.domain.updates`)
and its timer loop change it, and each change returns the `HistoryEntry` to record. Nothing here
does I/O or reads a clock: the caller passes `now` (the workflow's time), so the same rules run
in unit tests, in the workflow and on replay. The state is carried across continue-as-new; it
stays small whatever the collaboration's age, because it keeps only the latest entries
(`workflows.domain.recent`).

Stall clock (docs/operators.md, "Reminders"): a stage change (`advance`), a milestone
(`record_milestone`) and a `resume` are news. Each restarts the clock (`restart_clock`): it clears
`stalled`, the count of unanswered reminders and any snooze, and sets the next reminder one
threshold ahead (none while paused), or later while planned steps hold it. Reminders then fire
(`workflows.domain.stalls`) on the schedule of `workflows.domain.reminders` (one threshold apart,
doubling from the escalation, stopping at a cap); the
`escalate_after_reminders`-th unanswered one also escalates to the programme owner, once per
stage. A `pause` stops the chase (no reminders while paused) until a `resume`; a `close` ends it.
A snooze pushes the next reminder, when one is scheduled, to at least `now + days`; a later update
that restarts the clock clears the snooze.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_serializer,
)

from schemas import (
    CollaborationRequest,
    EventKind,
    HistoryEntry,
    Outcome,
    Stage,
)
from schemas.actors import VerifiedActor
from schemas.imports import effective_at
from schemas.privacy import Rekey
from schemas.status import PartnerAnswerSeen, Withdrawal
from schemas.steps import DEFAULT_GRACE_DAYS, Decision, Step, StepCounts
from workflows.domain.progress import Progress
from workflows.domain.recent import RecentUpdates, carried_updates, keep_recent
from workflows.domain.reminders import DUE_SOON_FRACTION


def _carried_request(value: Any) -> Any:
    # A carried request was valid when its collaboration started: rules added since (the stall
    # threshold floor) must not make a running collaboration's state unreadable.
    if isinstance(value, dict):
        return CollaborationRequest.model_validate(value, context={"legacy": True})
    return value


class CollaborationState(BaseModel):
    """Everything the workflow knows about one collaboration; carried across continue-as-new."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    # The verified actor of the update being applied: each entry it records names them in its
    # `details` (`verified`). Never carried: it lives for one operation (`acting`).
    _acting: VerifiedActor | None = PrivateAttr(default=None)

    request: Annotated[CollaborationRequest, BeforeValidator(_carried_request)]
    workflow_id: str
    collaboration_id: str
    started_at: datetime
    stage: Stage = Stage.INTRODUCTION
    stage_since: datetime
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    paused: bool = False
    stalled: bool = False
    clock_start: datetime
    next_reminder_at: datetime | None = None
    unanswered_reminders: int = 0
    reminders_sent: int = 0
    escalations: int = 0
    escalated_stages: list[Stage] = []
    snoozed_until: datetime | None = None
    seq: int = 0
    runs: int = 1
    history: list[HistoryEntry] = []  # the latest entries only, notes shortened (`workflows.domain.recent`)
    # Keys of deliveries still under way when the previous run continued-as-new: this run sends them.
    pending_deliveries: list[str] = []
    # The playbook version it runs under and its progress (`workflows.domain.gates`). A state
    # carried from a run begun before this name says `gates`.
    progress: Progress | None = Field(None, validation_alias=AliasChoices("progress", "gates"))
    # Each party's latest one-click answer and a pending withdrawal proposal (`workflows.domain.partner_ops`).
    partner_answers: list[PartnerAnswerSeen] = []
    withdrawal: Withdrawal | None = None
    # An erasure under way (`workflows.domain.privacy_ops`): the run continues-as-new under this data key.
    rekey: Rekey | None = None
    # Parties whose address was erased with no replacement: nobody is written to in their place.
    erased_parties: list[str] = []
    # Digests of the ids of the updates applied lately (`workflows.domain.recent.RecentUpdates`).
    recent_updates: Annotated[RecentUpdates, BeforeValidator(carried_updates)] = Field(
        default_factory=RecentUpdates
    )
    # The actor statements this collaboration accepted lately, by id, with when each was signed
    # (`workflows.domain.identity.remember`): one signed action is applied once. Kept only while
    # a statement is fresh, so a collaboration at rest carries none.
    vouched: dict[str, datetime] = {}
    # The planned next steps (at most `schemas.steps.MAX_OPEN_STEPS`), how they went, the count
    # that numbers them, and the go/no-go date (`workflows.domain.steps`).
    steps: list[Step] = []
    step_counts: StepCounts = Field(default_factory=StepCounts)
    steps_numbered: int = 0
    decision: Decision | None = None

    @field_serializer("history")
    def _kept(self, history: list[HistoryEntry]) -> list[dict[str, Any]]:
        # Carried without the fields an entry leaves empty: they read back as their defaults.
        return [entry.model_dump(mode="json", exclude_none=True) for entry in history]

    @classmethod
    def begin(
        cls, request: CollaborationRequest, workflow_id: str, collaboration_id: str, now: datetime
    ) -> "CollaborationState":
        """Return the state of a collaboration that starts now: in `introduction`, or, when it is
        imported, at its imported stage (and outcome, when it was already over)."""
        state = cls(
            request=request,
            workflow_id=workflow_id,
            collaboration_id=collaboration_id,
            started_at=now,
            stage_since=now,
            clock_start=now,
        )
        imported = request.imported
        if imported is not None:  # it began before Passerelle: its stage and dates come along
            state.stage = imported.stage
            state.stage_since = imported.entry_dates()[-1][1]
            if imported.outcome is not None and imported.closed_on is not None:
                state.outcome, state.closed_at = imported.outcome, effective_at(imported.closed_on)
        state.restart_clock(now)  # the stall clock starts now, not at the spreadsheet's dates
        return state

    # -- the entries of its start; the updates' operations are declared with their rules
    # (`workflows.domain.updates`) --

    def start_entry(self, now: datetime, by: str | None = None) -> HistoryEntry:
        """Return the `started` entry recorded when the collaboration begins: by the verified
        person who started it, else by the service (a declared start names nobody)."""
        return self.append(EventKind.STARTED, now, actor=by or "system", note=self.request.topic)

    def import_entries(self, now: datetime) -> list[HistoryEntry]:
        """Return the `imported` entries (one per past stage) and an imported closure, if any."""
        imported = self.request.imported
        if imported is None:
            return []
        source = imported.source or "import"
        entries = [
            self.append(EventKind.IMPORTED, now, actor="import", note=source, stage=stage, effective_at=at)
            for stage, at in imported.entry_dates()
        ]
        if self.outcome is not None:
            entries.append(
                self.append(
                    EventKind.CLOSED,
                    now,
                    actor="import",
                    note=source,
                    outcome=self.outcome,
                    effective_at=self.closed_at,
                )
            )
        return entries

    # -- reading the state --

    @property
    def threshold(self) -> timedelta:
        """Return the current stage's stall threshold: the collaboration's own, else its
        playbook's, else the default."""
        own = self.request.stall_after_days
        if self.stage not in own and self.progress is not None:
            playbook_days = self.progress.playbook.stall_after_days.get(self.stage)
            if playbook_days is not None:
                return timedelta(days=playbook_days)
        return timedelta(days=self.request.stall_days(self.stage))

    @property
    def contacts(self) -> dict[str, str]:
        """Return the addresses playbook roles name: corporate, startup, owner."""
        r = self.request
        return {
            "corporate": r.corporate.contact_email,
            "startup": r.startup.contact_email,
            "owner": r.owner_email,
        }

    @property
    def grace(self) -> timedelta:
        """Return how long after its end a planned step counts as missed: the playbook's, else
        the default."""
        days = self.progress.playbook.step_grace_days if self.progress else None
        return timedelta(days=days if days is not None else DEFAULT_GRACE_DAYS)

    @property
    def plan_hold(self) -> datetime | None:
        """Return until when the planned steps not missed hold the stall clock: the last one's
        end plus the grace; None without one."""
        ends = [
            min(
                s.at + timedelta(minutes=s.minutes) + self.grace,
                s.holds_until or datetime.max.replace(tzinfo=UTC),
            )
            for s in self.steps
            if not s.missed
        ]
        return max(ends) if ends else None

    @property
    def stall_due(self) -> datetime:
        """Return when the running stall clock runs out: one threshold after the news, or later
        while a planned step holds it."""
        due = self.clock_start + self.threshold
        hold = self.plan_hold
        return max(due, hold) if hold is not None else due

    @property
    def approval_reminder_at(self) -> datetime | None:
        """Return when the pending approval reminds its approvers, or None."""
        if self.progress is None or self.progress.pending is None or self.outcome is not None or self.paused:
            return None
        return self.progress.pending.next_reminder_at

    @property
    def due_soon_at(self) -> datetime | None:
        """Return when the SLA turns `due_soon`, or None when the clock is not running."""
        if self.outcome is not None or self.paused or self.stalled:
            return None
        hold = self.plan_hold
        if hold is not None and hold > self.clock_start + self.threshold:
            return hold - self.threshold * DUE_SOON_FRACTION
        return self.clock_start + self.threshold * (1 - DUE_SOON_FRACTION)

    @staticmethod
    def days_since(start: datetime, now: datetime) -> float:
        """Return the days between two instants, rounded for messages (stall and approval reminders)."""
        return round((now - start).total_seconds() / 86400, 2)

    def due_soon(self, now: datetime) -> bool:
        """Return True once the running stall clock is in its last `DUE_SOON_FRACTION`."""
        due = self.due_soon_at
        return due is not None and now >= due

    # -- shared by the operations (here and in `workflows.domain.playbook_ops`) --

    def restart_clock(self, now: datetime) -> None:
        """Restart the stall clock: there is news (`workflows.domain.playbook_ops`, `.partner_ops` too)."""
        self.clock_start = now
        self.stalled = False
        self.unanswered_reminders = 0
        self.snoozed_until = None
        self.withdrawal = None  # news: whoever proposed to stop is back, or the operator moved on
        self.next_reminder_at = None if self.paused or self.outcome else self.stall_due

    def push_reminder(self, until: datetime) -> None:
        """Hold the next reminder, when one is scheduled, until at least `until` (a snooze, a
        partner's pause); news that restarts the clock clears it."""
        self.snoozed_until = until
        if self.next_reminder_at is not None:
            self.next_reminder_at = max(self.next_reminder_at, until)

    def append(self, kind: EventKind, now: datetime, *, actor: str, **fields: object) -> HistoryEntry:
        """Number and keep a new entry (`workflows.domain.playbook_ops` records through it too)."""
        self.seq += 1
        if self._acting is not None:
            details: dict[str, Any] = dict(fields.get("details") or {})  # type: ignore[call-overload]
            fields["details"] = details | {"verified": self._acting.model_dump(mode="json")}
        entry = HistoryEntry.model_validate(
            {"seq": self.seq, "kind": kind, "at": now, "stage": self.stage, "actor": actor} | fields
        )
        self.history.append(entry)
        keep_recent(self.history)
        return entry

    @contextmanager
    def acting(self, actor: VerifiedActor | None) -> Iterator[None]:
        """Name `actor` as verified in every entry recorded within (one update's operation)."""
        self._acting = actor
        try:
            yield
        finally:
            self._acting = None

    def keep_recent(self) -> None:
        """Cut the latest entries to their bounds (a state carried from an unbounded run)."""
        keep_recent(self.history)
