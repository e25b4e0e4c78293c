"""A collaboration's progress against its playbook, and the refusals of the gate rules.

`Progress` is what the state carries: a summary, never a growing list (the milestones the
playbook names, one scorecard per evaluator, one approval per gate, one pending approval). The
rules that read and change it are in `workflows.domain.gates`.
"""

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from schemas.actors import VerifiedActor
from schemas.playbooks import GateTarget, Playbook, PlaybookVersion
from workflows.domain.transitions import Refused


class NoPlaybook(Refused):
    type = "NoPlaybook"


class GateUnmet(Refused):
    """A forward move whose gate still misses something; the message lists exactly what."""

    type = "GateUnmet"


class NoApprovalNeeded(Refused):
    type = "NoApprovalNeeded"


class ApprovalPending(Refused):
    type = "ApprovalPending"


class NoApprovalPending(Refused):
    type = "NoApprovalPending"


class SameApprover(Refused):
    """Four eyes: whoever asked for an approval may not give it."""

    type = "SameApprover"


class NotAnApprover(Refused):
    type = "NotAnApprover"


class NotScoring(Refused):
    type = "NotScoring"


class BadScorecard(Refused):
    type = "BadScorecard"


class PlaybookConflict(Refused):
    """An adoption that would break the collaboration (a stale version, changed criteria...)."""

    type = "PlaybookConflict"


class PendingApproval(BaseModel):
    """The one approval a collaboration is waiting for."""

    model_config = ConfigDict(extra="forbid")

    target: GateTarget
    requested_by: str
    # The requester's verified identity (None when declared): four eyes compare people by it.
    requester: VerifiedActor | None = None
    requested_at: datetime
    note: str = ""
    reminders: int = 0
    next_reminder_at: datetime | None = None


class Progress(BaseModel):
    """Where a collaboration stands against its playbook version; carried across continue-as-new."""

    model_config = ConfigDict(extra="forbid")

    # The version it runs under. A state carried from a run begun before this name says `playbook`.
    adopted: PlaybookVersion = Field(validation_alias=AliasChoices("adopted", "playbook"))
    milestones: dict[str, str | None] = {}  # a kind the playbook names (casefolded) → evidence URL
    scores: dict[str, dict[str, int]] = {}  # evaluator (casefolded) → criterion → score
    approved: dict[str, str] = {}  # gate → who approved it
    pending: PendingApproval | None = None
    passed: list[str] = []  # gates passed, in order (each at most once)

    @property
    def playbook(self) -> Playbook:
        """Return the rules of the adopted version: its gates, scorecard and approvers."""
        return self.adopted.playbook

    @property
    def label(self) -> str:
        return self.adopted.label
