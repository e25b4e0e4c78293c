"""What an update is, declared once: its name, its request's model, its rule and its operation.

The workflow generates each update's handler and validator from its declaration
(`workflows.handlers`), `passerelle bulk` runs its rule on visibility rows, and the CLI's
command table and `passerelle schema` read its name, command and text. Adding an update is one
`Update(...)` in a module of this package, listed in `workflows.domain.updates`.

- `rule(facts, request)` raises a `Refused` naming what is wrong, or returns its verdict: what
  it found that the operation needs (the gate a move passes, the scores by criterion), so the
  operation never works it out again. The validator runs it once, before the update enters
  history; on replay, where validators do not run, the handler runs it.
- `operation(state, request, verdict, now)` changes the state and returns the entry to record.
  It never runs the rule.
- `role`, what the verified actor must hold in the collaboration's programme
  (`workflows.domain.identity`): `operator` unless it says otherwise.
- `fetch`, for an update whose rule needs data only PostgreSQL has (a playbook version): what the
  handler reads, by activity, before it applies the operation; the operation receives what was
  read as its verdict and judges the part of the rule that needs it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from schemas import HistoryEntry
from workflows.domain.identity import Role
from workflows.domain.rules import Facts
from workflows.domain.state import CollaborationState

R = TypeVar("R", bound=BaseModel)
V = TypeVar("V")


@dataclass(frozen=True)
class Update(Generic[R, V]):
    """One update of `CollaborationWorkflow`."""

    name: str  # as the Web UI and `temporal workflow update execute` know it
    model: type[R]  # what its argument decodes into (`passerelle schema <name>`)
    rule: Callable[[Facts, R], V]
    operation: Callable[[CollaborationState, R, V, datetime], HistoryEntry]
    doc: str  # one sentence: the Web UI's description and the CLI command's help
    command: str | None = None  # the `passerelle` command that sends it, if any
    fetch: Callable[[CollaborationState, R], Any] | None = None
    role: Role = "operator"
