"""Who may send an update: the verified actor against the update's role and its typed `by`.

Each update names the role it needs (`workflows.domain.update.Update.role`). A verified actor
(`schemas.actors.VerifiedActor`) holds roles of the form `<programme>:<role>`, the programme
named by its slug (`schemas.actors.programme_slug`), or `*` for every programme; `admin` of a
programme holds every role of it. A partner's answer needs no role: the portal's statement
speaks for one party, through one link, and the answer may speak only for that party and link.

The workflow's validator runs this once, before the update enters history (a replay reads
history and never judges an accepted update again). Where the worker requires verified actors
(`PASSERELLE_ACTORS=verified`), an update without one is refused before it gets here
(`workflows.actor_gate`). Pure: no I/O, no clock.
"""

import re
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Literal

from schemas.actors import VerifiedActor, programme_slug
from workflows.domain.transitions import Refused

Role = Literal["operator", "approver", "evaluator", "auditor", "admin", "partner"]
ROLES: tuple[str, ...] = ("operator", "approver", "evaluator", "auditor", "admin")

# A statement is fresh this long after the voucher signed it: a payload copied out of a history
# cannot be sent again as a new action later on (and the clocks of the voucher and Temporal may
# differ by a little).
FRESH = timedelta(minutes=15)
SKEW = timedelta(minutes=2)


class NotVerified(Refused):
    """An update whose actor is not verified: no statement, or one that does not prove it."""

    type = "NotVerified"


class NotPermitted(Refused):
    """A verified actor without the role the update needs in the collaboration's programme."""

    type = "NotPermitted"


class NotYou(Refused):
    """A typed `by` (or partner party) that is not the verified actor."""

    type = "ActorMismatch"


def holds(actor: VerifiedActor, programme: str, role: str) -> bool:
    """Return whether `actor` holds `role` in `programme`, or in every programme (`*`); an admin
    holds every role."""
    slugs = {programme_slug(programme), _casefold_slug(programme)}
    held = {f"{slug}:{name}" for slug in slugs for name in (role, "admin")} | {f"*:{role}", "*:admin"}
    return not held.isdisjoint(actor.roles)


def _casefold_slug(programme: str) -> str:
    # The slug of statements signed before slugs kept ASCII letters only ("Straße" read
    # `strasse`): such a statement, in a history, must still prove what it proved.
    return re.sub(r"[^a-z0-9]+", "-", programme.casefold()).strip("-")


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def admit(role: Role, request: Any, programme: str, now: datetime) -> None:
    """Refuse `request` unless its verified actor may send it; accept a declared one.

    `request.actor` is None for a declared actor (no statement), which the worker's policy has
    already let through; `unproven` (a statement that does not hold) never reaches here, the
    validator refuses it first (`workflows.requests.unwrap`).
    """
    actor: VerifiedActor | None = getattr(request, "actor", None)
    if actor is None:
        return
    _fresh(actor, now)
    if role == "partner":
        if actor.via != "portal" or actor.party != request.party or actor.link != request.link:
            raise NotYou("a partner answers only through its own link, as its own party")
        return
    if actor.via != "codec":
        raise NotPermitted(f"a partner link cannot send this update: it needs the role {role}")
    if not holds(actor, programme, role):
        raise NotPermitted(
            f"your login does not hold {programme_slug(programme)}:{role}, the role this update needs"
        )
    by = getattr(request, "by", None)
    if by is not None and not (actor.email and _same(by, actor.email)):
        raise NotYou("by: not the address of your login; leave it out, or type your own")


def admit_start(actor: VerifiedActor | None, programme: str, now: datetime) -> None:
    """Refuse a verified start by someone who is not an operator of its programme, or signed too
    long ago; accept a declared one (no statement), which names nobody and commits nobody: every
    step after it needs a verified actor where the worker requires them."""
    if actor is None:
        return
    _fresh(actor, now)
    if actor.via != "codec":
        raise NotPermitted("a partner link cannot start a collaboration")
    if not holds(actor, programme, "operator"):
        raise NotPermitted(
            f"your login does not hold {programme_slug(programme)}:operator, the role a start needs"
        )


def _fresh(actor: VerifiedActor, now: datetime) -> None:
    if not (actor.at - SKEW <= now <= actor.at + FRESH):
        raise NotVerified(
            "the actor statement is not fresh: it was signed more than 15 minutes ago; send the action again"
        )


def unused(vouched: Collection[str], request: Any) -> None:
    """Refuse a statement this collaboration already accepted: a signed `resume` copied into an
    `approve` (both `{}`), or the same action sent twice, counts once."""
    actor: VerifiedActor | None = getattr(request, "actor", None)
    if actor is not None and actor.statement is not None and actor.statement in vouched:
        raise NotVerified("this signed action was used already: send it again from your client")


def remember(vouched: dict[str, datetime], actor: VerifiedActor | None, now: datetime) -> None:
    """Keep `actor`'s statement among those accepted, and drop those no longer fresh."""
    for statement, signed in list(vouched.items()):
        if signed + FRESH + SKEW < now:
            del vouched[statement]
    if actor is not None and actor.statement is not None:
        vouched[actor.statement] = actor.at


def same_person(a: VerifiedActor | None, a_name: str, b: VerifiedActor | None, b_name: str) -> bool:
    """Return whether two actions are one person's: the same issuer and subject when both are
    verified, the same typed name when either is declared (all a declared action says)."""
    if a is not None and b is not None:
        return (a.issuer, a.subject) == (b.issuer, b.subject)
    return _same(a_name, b_name)
