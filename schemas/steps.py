"""Planned next steps and decision dates (docs/operators.md, "Planned next steps").

A collaboration runs on its next meeting and its go/no-go date, not only on silence. A step is
planned with `plan_step`, then rescheduled, cancelled or marked held; while one is ahead, the
stall clock waits for it (`workflows.domain.steps`). The requests below are what operators and
the portal send; `Step` is what the state carries, at most `MAX_OPEN_STEPS` of them.

Times travel as aware instants (ISO 8601 with an offset): a request without one is refused, so
nobody's 10:00 becomes another time zone's. `passerelle` reads a time typed without an offset
as Europe/Paris time (`CALENDAR_ZONE`), the zone the invitations are written in.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.actors import Acted
from schemas.fields import STRICT, Actor, Line, Note, Text
from schemas.privacy import Contact

MAX_OPEN_STEPS = 3  # planned and not yet held, cancelled or answered after being missed
MAX_ATTENDEES = 10
WHERE_MAX = 300
CALENDAR_ZONE = "Europe/Paris"
DEFAULT_GRACE_DAYS = 2.0  # a step is missed this long after its end (a playbook may say otherwise)

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a plan outside these years is a typo, and its arithmetic overflows


def _in_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


# An instant with its offset (a time without one is refused), within `FIRST_YEAR`..`LAST_YEAR`.
Instant = Annotated[AwareDatetime, AfterValidator(_in_years)]
Day = Annotated[date, AfterValidator(_in_years)]
StepId = Annotated[str, StringConstraints(pattern=r"^s[1-9][0-9]{0,5}$")]
Minutes = Annotated[int, Field(ge=15, le=480)]
Where = Annotated[str, StringConstraints(max_length=WHERE_MAX), Line]
StepNote = Annotated[str, StringConstraints(max_length=1000), Text]


class StepKind(StrEnum):
    """What a planned step is."""

    MEETING = "meeting"  # a steering committee, a workshop, a call
    DEMO = "demo"
    DOCUMENT = "document"  # a document due (a proposal, a pilot report)
    DECISION = "decision"  # a go/no-go meeting


class PlanStep(Acted):
    """`plan_step`: plan the next step (a meeting, a demo, a document due, a decision)."""

    model_config = STRICT

    kind: StepKind
    at: Instant
    minutes: Minutes = 60
    where: Where = ""  # a place or a link
    # Who is invited; empty: both parties' contacts.
    with_whom: list[Contact] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    note: StepNote = ""
    by: Actor


class RescheduleStep(Acted):
    """`reschedule_step`: move a planned step to another time (a postponement)."""

    model_config = STRICT

    step: StepId
    at: Instant
    minutes: Minutes | None = None  # unchanged when absent
    note: StepNote = ""
    by: Actor


class CancelStep(Acted):
    """`cancel_step`: a planned step will not take place."""

    model_config = STRICT

    step: StepId
    note: StepNote = ""
    by: Actor


class StepHeld(Acted):
    """`step_held`: a planned step took place."""

    model_config = STRICT

    step: StepId
    note: StepNote = ""
    by: Actor


class DecisionDate(Acted):
    """`set_decision_date`: the go/no-go date; overdue from the next day on, until a decision."""

    model_config = STRICT

    on: Day
    by: Actor
    note: Note = ""


class Step(BaseModel):
    """A planned step as the state carries it and the status shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: StepKind
    at: datetime  # UTC
    minutes: int
    where: str = ""
    with_whom: list[str] = []
    note: str = ""  # shortened like an answer's note; the full note is in PostgreSQL
    sequence: int = 0  # the invitation's SEQUENCE: one more for each reschedule and the cancellation
    planned_by: str
    missed: bool = False  # its end plus the grace passed with no news of it
    # A partner's postponement holds the reminders no longer than a pause may (`MAX_PAUSE_DAYS`
    # after the answer), however far the new time: the plan is theirs to keep, the chase is not.
    holds_until: datetime | None = None


class StepCounts(BaseModel):
    """How a collaboration's steps went, counted (the sponsor figures read the rows)."""

    model_config = ConfigDict(extra="forbid")

    planned: int = 0
    held: int = 0
    postponed: int = 0
    cancelled: int = 0
    missed: int = 0


class Decision(BaseModel):
    """The go/no-go date and where its chase stands."""

    model_config = ConfigDict(extra="forbid")

    on: Day
    due: datetime  # the instant it becomes overdue: the day after `on`, 00:00 UTC
    set_by: str
    overdue: bool = False
    reminders: int = 0
    next_reminder_at: datetime | None = None
