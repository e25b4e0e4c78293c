"""A partner's one-click answer (docs/partners.md): the `partner_answer` update the portal sends.

A reminder, an introduction or a stage e-mail carries signed links, one per action, for the party
it is addressed to. The portal turns a confirmed link into this request; the workflow's validator
decides, so a partner can never do more than these actions, on their own collaboration. The
e-mail about a planned step (its invitation, or the question after it was missed) offers three
more, about that step: held, postponed to a date, cancelled.
"""

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from schemas.actors import Acted
from schemas.fields import STRICT, Text
from schemas.steps import Instant, StepId

MAX_PAUSE_DAYS = 60  # "pause us until ...": at most this far from the answer
PARTNER_NOTE_MAX = 1000

PartnerNote = Annotated[str, StringConstraints(max_length=PARTNER_NOTE_MAX), Text]
Party = Literal["startup", "corporate"]
PARTIES: tuple[Party, ...] = ("startup", "corporate")


class PartnerAction(StrEnum):
    """What a partner can answer, in one click and one confirmation."""

    ON_IT = "on_it"  # progress: the stall clock restarts
    NEED_HELP = "need_help"  # the owner is told at once, with the note
    PAUSE = "pause"  # no reminders for `days`; the owner is told
    STOPPED = "stopped"  # a withdrawal proposal the operator confirms (close) or not
    # About the planned step the e-mail names (`step`): as `step_held`, `reschedule_step` (to
    # `at`) and `cancel_step` would record it, by the party.
    HELD = "held"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


STEP_ACTIONS = frozenset({PartnerAction.HELD, PartnerAction.POSTPONED, PartnerAction.CANCELLED})


class PartnerAnswer(Acted):
    """`partner_answer`: one party's answer to one e-mail, from one signed link."""

    model_config = STRICT

    party: Party
    action: PartnerAction
    link: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]  # the link's id, never the token
    answered_seq: Annotated[int, Field(ge=1)]  # the seq of the event whose e-mail carried the link
    note: PartnerNote = ""
    days: Annotated[int, Field(ge=1, le=MAX_PAUSE_DAYS)] | None = None  # `pause` only
    step: StepId | None = None  # the step actions only
    at: Instant | None = None  # `postponed` only: the new time

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> Self:
        if self.action is PartnerAction.PAUSE and self.days is None:
            raise ValueError(f"days: required to pause (1 to {MAX_PAUSE_DAYS})")
        if self.action is not PartnerAction.PAUSE and self.days is not None:
            raise ValueError("days: only a pause takes a number of days")
        if self.action in (PartnerAction.NEED_HELP, PartnerAction.STOPPED) and not self.note:
            raise ValueError(f"note: required to answer {self.action.value}")
        if (self.action in STEP_ACTIONS) != (self.step is not None):
            raise ValueError("step: required by held, postponed and cancelled, and by them only")
        if (self.action is PartnerAction.POSTPONED) != (self.at is not None):
            raise ValueError("at: required to answer postponed (the new date), and by it only")
        return self
