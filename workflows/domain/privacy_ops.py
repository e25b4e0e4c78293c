"""An address erased from a running collaboration (docs/privacy.md), as pure rules on its state.

`erase_contact` replaces the address wherever the state holds it: in a contact field by the
replacement when one is given, everywhere else (and in a contact field without replacement) by
its pseudonym. Its party is then written to no more, and when it is one the reminders chase,
the reminders pause until an operator resumes. The state then asks for a re-key: the workflow
activates the new data key, continues-as-new under it, and the new run destroys the older keys
(`workflows.collaboration`). Pure: `now` is the workflow's time.
"""

from datetime import datetime
from typing import Any

from pydantic import HttpUrl, TypeAdapter, ValidationError

from schemas import EventKind, HistoryEntry
from schemas import addresses as rule
from schemas.privacy import ContactErasure, Rekey
from workflows.domain.rules import Facts, check_open
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.update import Update

CHASED = ("startup", "corporate")


class ErasureUnderWay(Refused):
    """An erasure asked while another is still moving the collaboration to its new data key."""

    type = "ErasureUnderWay"


def check_erase(facts: Facts, erasure: ContactErasure) -> None:
    check_open(facts)
    if getattr(facts, "rekey", None) is not None:  # only the workflow's state knows
        raise ErasureUnderWay("an erasure is under way: send the next one once it is done")


def erase(state: CollaborationState, erasure: ContactErasure, _: None, now: datetime) -> HistoryEntry:
    """Replace `erasure.email` throughout the state and ask for a re-key."""
    address = erasure.email.lower()
    parties = [party for party, email in state.contacts.items() if email.lower() == address]
    request = state.request
    new_contact = erasure.replacement or erasure.pseudonym
    changes: dict[str, object] = {}
    for party in parties:
        if party == "owner":
            changes["owner_email"] = new_contact
        else:
            side = getattr(request, party)
            changes[party] = side.model_copy(update={"contact_email": new_contact})
    state.request = request.model_copy(update=changes)
    unreachable = [p for p in parties if erasure.replacement is None]
    state.erased_parties = sorted({*state.erased_parties, *unreachable})
    entry = state.append(
        EventKind.CONTACT_ERASED,
        now,
        actor=erasure.by,
        note=erasure.reason,
        details={
            "pseudonym": erasure.pseudonym,
            "parties": parties,
            "replaced": erasure.replacement is not None and bool(parties),
            "data_key": erasure.next_key,
        },
    )
    if any(p in CHASED for p in unreachable) and state.outcome is None:
        state.paused, state.stalled, state.next_reminder_at = True, False, None
    _scrub(state, erasure.email, erasure.pseudonym)
    state.rekey = Rekey(key=erasure.next_key, by=erasure.by, reason=erasure.reason)
    return entry


_URL = TypeAdapter(HttpUrl)


def _in_place(text: str, address: str, pseudonym: str) -> str:
    """Return `text` with the address replaced. A link whose address sits in its authority
    (`https://user:ana@x.example/`) would not read as a link any more: it becomes one that
    names the pseudonym, so the field keeps a valid value (docs/privacy.md)."""
    replaced = rule.replace(text, address, pseudonym)
    if replaced != text and text.startswith(("http://", "https://")):
        try:
            _URL.validate_python(replaced)
        except ValidationError:
            return f"https://erased.invalid/{pseudonym}"
    return replaced


def _scrub(state: CollaborationState, address: str, pseudonym: str) -> None:
    """Replace every remaining mention of `address` in the state (notes, actors, approvers),
    string by string, by the rule of `schemas.addresses`: never a part of a longer address."""
    dumped = state.model_dump(mode="json")
    if not rule.named_in(dumped, address):
        return
    scrubbed = CollaborationState.model_validate(
        rule.map_strings(dumped, lambda text: _in_place(text, address, pseudonym))
    )
    for name in CollaborationState.model_fields:
        setattr(state, name, getattr(scrubbed, name))


UPDATES: tuple[Update[Any, Any], ...] = (
    # Sent by `passerelle privacy erase` (docs/privacy.md), which plans the erasure first.
    Update(
        "erase_contact",
        ContactErasure,
        check_erase,
        erase,
        "Erase an address from a collaboration and move it to a new data key.",
        role="admin",
    ),
)
