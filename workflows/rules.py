"""The rule of each update, written once: a pure check the workflow runs, and `passerelle bulk` too.

The workflow's validator runs an update's check before the update enters history; the state runs
it again as it applies the change, since another update may have won the race in between. The
single-update CLI commands leave the check to the validator; `passerelle bulk` alone runs it on
the client side, on the search attributes of each match, so `--dry-run` shows what the workflow
would refuse. A check reads three facts (stage, outcome, paused), which the workflow's state, the
status query's answer and a visibility row all carry; the playbook checks (`workflows.gates`) read
the state's playbook progress too, which only the workflow has.

Each refusal is a `Refused` with a stable `type`; the workflow raises it as a non-retryable
`ApplicationError` of that type (docs/architecture.md §1, Refusals), so a client reads it as
final. Pure: no I/O, no clock.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from schemas import (
    Closure,
    MilestoneRequest,
    Outcome,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    Stage,
    StageChange,
)
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.playbooks import Approval, ApprovalRequest, PlaybookAdoption, Rejection, Scorecard
from schemas.privacy import ContactErasure
from workflows import gates
from workflows.progress import Progress
from workflows.transitions import Refused, check_move


class Closed(Refused):
    """A change asked of a collaboration that already has its outcome."""

    type = "CollaborationClosed"


class AlreadyPaused(Refused):
    type = "AlreadyPaused"


class NotPaused(Refused):
    type = "NotPaused"


class LinkUsed(Refused):
    """A partner's link that already answered (the portal refuses it first; this is the backstop)."""

    type = "LinkUsed"


class Facts(Protocol):
    """What a check needs to know about a collaboration."""

    @property
    def stage(self) -> Stage: ...
    @property
    def outcome(self) -> Outcome | None: ...
    @property
    def paused(self) -> bool: ...


def check_open(facts: Facts) -> None:
    """Refuse any change once the collaboration has an outcome."""
    if facts.outcome is not None:
        raise Closed(f"the collaboration is closed ({facts.outcome.value})")


def _progress(facts: Facts) -> Progress | None:
    # Only the workflow's state carries playbook progress: a visibility row or a status answer
    # does not, so `passerelle bulk` leaves gates to the workflow's validator.
    progress: Progress | None = getattr(facts, "gates", None)
    return progress


def _contacts(facts: Facts) -> Mapping[str, str]:
    contacts: Mapping[str, str] = getattr(facts, "contacts", {})
    return contacts


def check_advance(facts: Facts, change: StageChange) -> None:
    check_move(facts.stage, facts.outcome, change.to)
    gates.check_gate(_progress(facts), facts.stage, change.to, _contacts(facts))


def check_milestone(facts: Facts, milestone: MilestoneRequest) -> None:
    check_open(facts)


def check_close(facts: Facts, closure: Closure) -> None:
    check_move(facts.stage, facts.outcome, closure.outcome)
    gates.check_gate(_progress(facts), facts.stage, closure.outcome, _contacts(facts))


def check_pause(facts: Facts, pause: PauseRequest) -> None:
    check_open(facts)
    if facts.paused:
        raise AlreadyPaused("the collaboration is already paused")


def check_resume(facts: Facts, resume: ResumeRequest) -> None:
    check_open(facts)
    if not facts.paused:
        raise NotPaused("the collaboration is not paused")


def check_snooze(facts: Facts, snooze: SnoozeRequest) -> None:
    check_open(facts)


def check_request_approval(facts: Facts, request: ApprovalRequest) -> None:
    target = Outcome(request.for_) if request.for_ == Outcome.DEPLOYED.value else Stage(request.for_)
    check_move(facts.stage, facts.outcome, target)  # only for a move it may make from here
    gates.check_request(_progress(facts), facts.stage, request.for_)


def check_approve(facts: Facts, approval: Approval) -> None:
    check_open(facts)
    gates.check_answer(_progress(facts), approval.by, _contacts(facts))


def check_reject(facts: Facts, rejection: Rejection) -> None:
    check_open(facts)
    gates.check_answer(_progress(facts), rejection.by, _contacts(facts))


def check_score(facts: Facts, card: Scorecard) -> None:
    check_open(facts)
    gates.check_score(_progress(facts), facts.stage, card)


def check_adopt(facts: Facts, adoption: PlaybookAdoption) -> None:
    check_open(facts)
    gates.check_adoption(_progress(facts), adoption.version)


def check_partner_answer(facts: Facts, answer: PartnerAnswer) -> None:
    check_open(facts)
    if answer.action is PartnerAction.PAUSE and facts.paused:
        raise AlreadyPaused("the programme has already paused the collaboration")
    answers = getattr(facts, "partner_answers", [])  # only the workflow's state has them
    if any(seen.link == answer.link for seen in answers):
        raise LinkUsed("this link has already answered")


class ErasureUnderWay(Refused):
    """An erasure asked while another is still moving the collaboration to its new data key."""

    type = "ErasureUnderWay"


def check_erase_contact(facts: Facts, erasure: ContactErasure) -> None:
    check_open(facts)
    if getattr(facts, "rekey", None) is not None:  # only the workflow's state knows
        raise ErasureUnderWay("an erasure is under way: send the next one once it is done")


Check = Callable[[Facts, Any], None]

# Each update by name: the model its argument decodes into, and its check.
UPDATES: dict[str, tuple[type[BaseModel], Check]] = {
    "advance": (StageChange, check_advance),
    "record_milestone": (MilestoneRequest, check_milestone),
    "close": (Closure, check_close),
    "pause": (PauseRequest, check_pause),
    "resume": (ResumeRequest, check_resume),
    "snooze_reminders": (SnoozeRequest, check_snooze),
    "request_approval": (ApprovalRequest, check_request_approval),
    "approve": (Approval, check_approve),
    "reject": (Rejection, check_reject),
    "score": (Scorecard, check_score),
    "adopt_playbook": (PlaybookAdoption, check_adopt),
    "partner_answer": (PartnerAnswer, check_partner_answer),
    "erase_contact": (ContactErasure, check_erase_contact),
}


def _types(kind: type[Refused]) -> set[str]:
    return {kind.type}.union(*(_types(sub) for sub in kind.__subclasses__()))


# Every refusal type: their messages never hold personal data, so a client may show them in clear
# (`passerelle.platform.client.RefusalsInClear`).
REFUSALS = frozenset(_types(Refused))


@contextmanager
def refusal() -> Iterator[None]:
    """Raise a rule's refusal as a final (non-retryable) failure of its stable type."""
    try:
        yield
    except Refused as err:
        raise ApplicationError(str(err), type=err.type, non_retryable=True) from None
