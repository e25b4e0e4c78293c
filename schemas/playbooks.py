"""A programme's playbook: the gates, approvals and scorecard its collaborations must pass.

A playbook is data (docs/playbooks.md): a TOML file an operator applies with `passerelle
playbook apply`, stored as an immutable numbered version in PostgreSQL, and carried by each
collaboration that runs under it. Every bound here keeps a collaboration's state small whatever
the playbook says (the payload budget, docs/guarantees.md).

A gate is keyed by what it guards: the stage a collaboration moves *into* (one step forward), or
`deployed`. Back moves (evaluation → pilot), `declined` and `abandoned` are never gated, so they
cannot be keys.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.actors import Acted
from schemas.fields import STRICT, Actor, Kind, Name, Note, Reason, StallDays
from schemas.privacy import is_pseudonym
from schemas.stages import Stage

GateTarget = Literal["qualification", "pilot", "evaluation", "deployment", "deployed"]
# The moves a gate may guard, in order: every forward stage, then closing as deployed.
GATE_TARGETS: tuple[GateTarget, ...] = get_args(GateTarget)
ROLES = ("corporate", "startup", "owner")  # approvers named by role: the collaboration's own contacts
SCALE = (1, 5)  # every criterion is scored on 1..5
MAX_EVALUATORS = 30  # scorecards kept per collaboration: the state stays bounded


def _approver(value: str) -> str:
    if value in ROLES or is_pseudonym(value):  # a pseudonym: an approver whose address was erased
        return value
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise PydanticCustomError(
            "approver", "must be an e-mail address or one of corporate, startup, owner"
        ) from None


def _gate_key(value: str) -> str:
    if value in GATE_TARGETS:
        return value
    why = {
        "introduction": "introduction is where a collaboration starts, so no move leads into it",
        "declined": "declined and abandoned are never gated",
        "abandoned": "declined and abandoned are never gated",
    }.get(value, f"must be one of {', '.join(GATE_TARGETS)}")
    raise PydanticCustomError("gate", why)


# An approver: one of `ROLES` (the collaboration's own contact), or an e-mail address.
Approver = Annotated[str, Field(max_length=254), AfterValidator(_approver)]
GateKey = Annotated[str, AfterValidator(_gate_key)]


def _milestone_rule(value: Any) -> Any:
    # `"NDA signed"` in the file is shorthand for `{ kind = "NDA signed" }`.
    if isinstance(value, str):
        return {"kind": value}
    if not isinstance(value, dict | MilestoneRule):
        raise PydanticCustomError(
            "milestone_rule", 'must be a milestone kind, or { kind = "...", evidence = true }'
        )
    return value


class MilestoneRule(BaseModel):
    """A milestone a gate needs: its kind (matched without case), and whether it needs evidence."""

    model_config = STRICT

    kind: Kind
    evidence: bool = False  # the milestone must have been recorded with an evidence URL


class Gate(BaseModel):
    """What a collaboration needs before it may make the move the gate guards."""

    model_config = STRICT

    milestones: Annotated[
        list[Annotated[MilestoneRule, BeforeValidator(_milestone_rule)]], Field(max_length=20)
    ] = []
    scorecard: bool = False  # the playbook's scorecard must pass
    approval: bool = False  # a second person must approve the move
    approvers: Annotated[list[Approver], Field(max_length=20)] | None = None  # else the playbook's

    @model_validator(mode="after")
    def _distinct(self) -> "Gate":
        kinds = [m.kind.casefold() for m in self.milestones]
        if len(set(kinds)) != len(kinds):
            raise PydanticCustomError("duplicate", "each milestone may be listed once")
        if self.approvers is not None and not self.approval:
            raise PydanticCustomError("approvers_without_approval", "approvers need approval = true")
        return self


class Criterion(BaseModel):
    """One criterion of the scorecard, scored 1 to 5 by each evaluator."""

    model_config = STRICT

    name: Kind
    weight: Annotated[float, Field(gt=0, le=100)] = 1


class ScorecardRule(BaseModel):
    """How the evaluation is scored, and when the scorecard passes."""

    model_config = STRICT

    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=12)]
    min_evaluators: Annotated[int, Field(ge=1, le=MAX_EVALUATORS)] = 1
    pass_mean: Annotated[float, Field(ge=SCALE[0], le=SCALE[1])]

    @model_validator(mode="after")
    def _distinct(self) -> "ScorecardRule":
        names = [c.name.casefold() for c in self.criteria]
        if len(set(names)) != len(names):
            raise PydanticCustomError("duplicate", "each criterion may be listed once")
        return self


class Playbook(BaseModel):
    """A programme's rules, as written in its TOML file."""

    model_config = STRICT

    programme: Name
    approvers: Annotated[list[Approver], Field(max_length=20)] = []  # for gates naming none
    approval_reminder_days: StallDays = 3  # an approval pending this long reminds its approvers
    stall_after_days: dict[Stage, StallDays] = {}  # a collaboration's own thresholds still win
    # How long the programme's closed collaborations keep personal data (PASSERELLE_RETENTION_DAYS
    # otherwise; docs/privacy.md).
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    # Planned next steps: how long after its end a step with no news counts as missed, and the
    # go/no-go date a pilot gets when it starts, this many days on (docs/playbooks.md).
    step_grace_days: Annotated[float, Field(ge=0, le=60)] | None = None
    decision_after_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    gates: dict[GateKey, Gate] = {}
    scorecard: ScorecardRule | None = None

    @model_validator(mode="after")
    def _scorecard_used(self) -> "Playbook":
        scored = [t for t, g in self.gates.items() if g.scorecard]
        if scored and self.scorecard is None:
            raise PydanticCustomError(
                "scorecard_missing",
                "gate {gate} asks for a scorecard but [scorecard] is not defined",
                {"gate": scored[0]},
            )
        if self.scorecard is not None and not scored:
            raise PydanticCustomError(
                "scorecard_unused", "[scorecard] is defined but no gate has scorecard = true"
            )
        return self

    def approvers_for(self, target: str) -> list[str]:
        """Return who may approve the move to `target` (empty: anyone but the requester)."""
        gate = self.gates.get(target)
        if gate is None or gate.approvers is None:
            return list(self.approvers)
        return list(gate.approvers)


def _stored_playbook(value: Any) -> Any:
    # A stored version was valid when it was applied: rules added since (hidden characters in a
    # kind) must not make it, or a collaboration carrying it, unreadable.
    if isinstance(value, dict):
        return Playbook.model_validate(value, context={"legacy": True})
    return value


class PlaybookVersion(BaseModel):
    """One applied version of a programme's playbook: immutable once stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    playbook: Annotated[Playbook, BeforeValidator(_stored_playbook)]
    sha256: str
    applied_by: str
    applied_at: datetime

    @property
    def label(self) -> str:
        """Return `Coalition Next v3`, as refusals and the status name it."""
        return f"{self.playbook.programme} v{self.version}"


class PlaybookLookup(BaseModel):
    """Input of the load activity: a programme's current version, or a given one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    programme: str
    version: int | None = None  # None: the current (highest) version
    collaboration_id: str | None = None  # set: also return the milestones it already recorded


class PlaybookLoad(BaseModel):
    """Output of the load activity: the version (None when there is none) and, for an adoption,
    the milestones the collaboration recorded among the kinds it names, with their evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    found: PlaybookVersion | None
    milestones: dict[str, str | None] = {}


# -- the updates of playbook runs (docs/architecture.md §1, Updates) --


class ApprovalRequest(Acted):
    """`request_approval`: ask a second person to approve a move or an outcome."""

    model_config = STRICT | ConfigDict(populate_by_name=True)

    for_: GateTarget = Field(alias="for")
    by: Actor
    note: Note = ""


class Approval(Acted):
    """`approve`: the pending approval is granted."""

    model_config = STRICT

    by: Actor
    note: Note = ""


class Rejection(Acted):
    """`reject`: the pending approval is refused; a new one may be requested."""

    model_config = STRICT

    by: Actor
    reason: Reason


Score = Annotated[int, Field(ge=SCALE[0], le=SCALE[1])]


class Scorecard(Acted):
    """`score`: one evaluator's scores, one per criterion; a new one from the same evaluator
    replaces theirs."""

    model_config = STRICT

    by: Actor
    scores: Annotated[dict[Kind, Score], Field(min_length=1, max_length=12)]
    note: Note = ""


class PlaybookAdoption(Acted):
    """`adopt_playbook`: run under a newer version of the programme's playbook."""

    model_config = STRICT

    version: Annotated[int, Field(ge=1)]
    by: Actor
