"""What every update's rule reads, and the refusal all of them share.

An update's rule is declared with it (`workflows.domain.update`). It reads three facts (stage,
outcome, paused), which the workflow's state, the status query's answer and a visibility row all
carry, so `passerelle bulk` runs the same rule on the search attributes of each match and
`--dry-run` shows what the workflow would refuse. The playbook rules (`workflows.domain.gates`)
read the state's playbook progress too, which only the workflow has.

Each refusal is a `Refused` with a stable `type`; the workflow raises it as a non-retryable
`ApplicationError` of that type (docs/architecture.md §1, Refusals), so a client reads it as
final. Pure: no I/O, no clock.
"""

from collections.abc import Mapping
from typing import Protocol

from schemas import Outcome, Stage
from workflows.domain.progress import Progress
from workflows.domain.transitions import Refused


class Closed(Refused):
    """A change asked of a collaboration that already has its outcome."""

    type = "CollaborationClosed"


class Facts(Protocol):
    """What a rule needs to know about a collaboration."""

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


def progress_of(facts: Facts) -> Progress | None:
    """Return the playbook progress, which only the workflow's state carries: a visibility row
    or a status answer does not, so `passerelle bulk` leaves gates to the workflow's validator."""
    progress: Progress | None = getattr(facts, "progress", None)
    return progress


def contacts_of(facts: Facts) -> Mapping[str, str]:
    """Return the contacts playbook roles name (only the workflow's state has them)."""
    contacts: Mapping[str, str] = getattr(facts, "contacts", {})
    return contacts
