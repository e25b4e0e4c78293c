"""What the `status` query and every update return."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.records import EventKind, HistoryEntry
from schemas.stages import Outcome, SlaState, Stage
from schemas.steps import Decision, Step, StepCounts


class ChecklistItem(BaseModel):
    """One requirement of a gate ahead (docs/playbooks.md): done or not, and who has to act."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gate: str  # the stage it leads into, or `deployed`
    item: str  # `milestone "NDA signed" (with evidence URL)`, `passing scorecard (...)`, `approval (...)`
    done: bool
    who: str


class PartnerAnswerSeen(BaseModel):
    """A party's latest one-click answer (docs/partners.md), as the status shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    party: str  # startup or corporate
    action: str  # on_it, need_help, pause, stopped; held, postponed, cancelled about a step
    at: datetime
    seq: int  # the `partner_update` entry
    link: str  # the link's id: a second answer from the same link is refused
    note: str = ""  # shortened to `NOTE_SHOWN` characters; the full note is in PostgreSQL
    until: datetime | None = None  # a pause's end


class Withdrawal(BaseModel):
    """A partner's "we have stopped": the operator confirms it with `close`, never the workflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    party: str
    at: datetime
    seq: int
    reason: str  # shortened like an answer's note


NOTE_SHOWN = 280


def shortened(text: str) -> str:
    """Return a note as the state and the status keep it: at most `NOTE_SHOWN` characters."""
    return text if len(text) <= NOTE_SHOWN else text[: NOTE_SHOWN - 1] + "…"


class CollaborationStatus(BaseModel):
    """A collaboration as an operator sees it at one moment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    collaboration_id: str
    corporate: str
    startup: str
    programme: str
    topic: str
    stage: Stage
    stage_since: datetime
    outcome: Outcome | None
    closed_at: datetime | None
    paused: bool
    stalled: bool
    sla: SlaState
    next_reminder_at: datetime | None
    stall_deadline: datetime | None
    reminders_sent: int
    reminders_in_stage: int
    escalations: int
    snoozed_until: datetime | None
    runs: int
    # The latest entries (at most `RECENT_ENTRIES`, notes shortened): the `status` query's view.
    # Update answers leave it empty. The full record is in PostgreSQL (`passerelle status`).
    history: list[HistoryEntry]
    entries: int = 0  # how many entries the collaboration has recorded in all (its last seq)
    playbook: str | None = None  # `Coalition Next v3`: the playbook version it runs under
    checklist: list[ChecklistItem] = []  # the gates ahead of its stage; empty without a playbook
    partner_answers: list[PartnerAnswerSeen] = []  # each party's latest answer, at most one each
    withdrawal: Withdrawal | None = None  # a partner's proposal to stop, until the operator decides
    # Parties whose address was erased with no replacement: no e-mail goes to them (docs/privacy.md).
    erased_parties: list[str] = []
    erasure_under_way: bool = False  # an erasure is moving the collaboration to a new data key
    # The planned steps still open (soonest first; a missed one until there is news of it), how
    # the steps went, and the go/no-go date, overdue once it passed with no decision.
    steps: list[Step] = []
    step_counts: StepCounts = StepCounts()
    decision: Decision | None = None
    decision_overdue: bool = False

    @property
    def stage_changes(self) -> list[HistoryEntry]:
        """Return the stage changes among `history`, oldest first.

        Only the kept latest entries (at most `RECENT_ENTRIES`), and none in an update answer.
        """
        return [e for e in self.history if e.kind is EventKind.STAGE_CHANGED]

    @property
    def milestones(self) -> list[HistoryEntry]:
        """Return the milestones among `history`, oldest first.

        Only the kept latest entries (at most `RECENT_ENTRIES`), and none in an update answer.
        """
        return [e for e in self.history if e.kind is EventKind.MILESTONE]
