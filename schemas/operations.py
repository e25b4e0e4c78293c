"""The requests behind each update an operator sends (docs/architecture.md §1, Updates)."""

from pydantic import HttpUrl

from schemas.actors import Acted
from schemas.fields import STRICT, Actor, Days, Kind, Note, Reason
from schemas.stages import Outcome, Stage


class StageChange(Acted):
    """`advance`: move the collaboration to another stage."""

    model_config = STRICT

    to: Stage
    by: Actor
    note: Note = ""


class MilestoneRequest(Acted):
    """`record_milestone`: something worth remembering happened (NDA signed, pilot kick-off...)."""

    model_config = STRICT

    kind: Kind
    by: Actor
    note: Note = ""
    evidence_url: HttpUrl | None = None


class Closure(Acted):
    """`close`: end the collaboration with an outcome."""

    model_config = STRICT

    outcome: Outcome
    by: Actor
    reason: Reason


class PauseRequest(Acted):
    """`pause`: stop chasing the collaboration (holidays, a reorganisation...)."""

    model_config = STRICT

    by: Actor
    reason: Reason


class ResumeRequest(Acted):
    """`resume`: chase again; the stall clock restarts from now."""

    model_config = STRICT

    by: Actor


class SnoozeRequest(Acted):
    """`snooze_reminders`: no reminder before this many days from now, unless news restarts the clock."""

    model_config = STRICT

    by: Actor
    days: Days
