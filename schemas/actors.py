"""Who did something: the actor a voucher verified, carried with each human request.

A request's `by` is typed by whoever sends it. `actor` is not: the worker fills it from the
signed statement the codec server or the partner portal put in the payload
(`passerelle.platform.vouching`), and a request that sets it itself is refused
(`workflows.requests`). The workflow records it with the entry, so `audit timeline` shows each
action as *verified*, with the key that vouched for it, or *declared* (no statement: recorded
before verified actors, or by a deployment still in its migration window).
"""

import re
import string
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class VerifiedActor(BaseModel):
    """The person (or partner link) a vouching key signed for, as its statement says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str
    subject: str
    email: str | None = None
    roles: tuple[str, ...] = ()
    via: Literal["codec", "portal"] = "codec"
    party: str | None = None  # the party a portal link speaks for
    link: str | None = None  # the portal link's id
    key: str  # the vouching key's id
    fingerprint: str  # the first 16 hex digits of its public key's SHA-256
    at: datetime  # when the voucher signed
    statement: str | None = None  # the statement's id (`passerelle.platform.vouching.statement_id`)


class Acted(BaseModel):
    """A request a person sends: it carries the actor the worker verified, never one it typed."""

    actor: SkipJsonSchema[VerifiedActor | None] = Field(default=None, exclude=True)


# The metadata key under which the worker's codec writes what a payload's actor statement proves
# (`passerelle.platform.vouching.ActorCodec`): `{"verified": {...}}` or `{"unproven": "why"}`.
ACTOR_MARK = "passerelle-actor"
# A payload the codec server would not encode, or the worker would not open, for its caller's
# programmes; its metadata `REFUSED_REASON` says why. The worker's codec reads it as an unproven
# actor, so the update or start carrying it is refused with that reason, never retried.
REFUSED_ENCODING = b"binary/passerelle-refused"
REFUSED_REASON = "passerelle-refused"


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def programme_slug(programme: str) -> str:
    """Return how roles and namespaces name a programme: ASCII letters in lower case, each run of
    any other character a hyphen ("Coalition Next" reads `coalition-next`, as in
    `coalition-next:operator`). PostgreSQL computes the same (`collaborations.programme_slug`)."""
    return re.sub(r"[^a-z0-9]+", "-", programme.translate(_ASCII_LOWER)).strip("-")


class Marked(dict[str, Any]):
    """A JSON object whose payload the worker's codec marked (`ACTOR_MARK`), as the workflow
    receives an argument it takes untyped: a collaboration's start input. The mark comes from
    the payload's metadata only (`passerelle.platform.vouching.MarkedPayloadConverter`), never
    from the object's content."""

    def __init__(self, value: dict[str, Any], mark: bytes) -> None:
        super().__init__(value)
        self.actor_mark = mark
