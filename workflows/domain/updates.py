"""Every update of `CollaborationWorkflow`, by name: the one list the workflow's handlers, the
CLI's commands, `passerelle schema` and `passerelle bulk` read.

The order is the Web UI's and `passerelle --help`'s. `REFUSALS` holds every refusal type the
rules may raise: their messages never hold personal data, so a client may show them in clear
(`passerelle.platform.client.RefusalsInClear`).
"""

from typing import Any

from workflows.domain import approvals, lifecycle, partner_ops, playbook_ops, privacy_ops, step_ops
from workflows.domain.transitions import Refused
from workflows.domain.update import Update

UPDATES: dict[str, Update[Any, Any]] = {
    u.name: u
    for family in (lifecycle, step_ops, approvals, playbook_ops, partner_ops, privacy_ops)
    for u in family.UPDATES
}


def _types(kind: type[Refused]) -> set[str]:
    return {kind.type}.union(*(_types(sub) for sub in kind.__subclasses__()))


# Every refusal type: the families above are imported, so each of their refusals is known here.
REFUSALS = frozenset(_types(Refused))
