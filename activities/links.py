"""Signed partner links (docs/partners.md): the one-click answers an e-mail carries.

A link is `<portal>/a/<token>`, the token `p1.<key id>.<collaboration id>.<party>.<action>.<seq>.
<expires>.<signature>`: only the collaboration id, the party, the action, the seq of the event whose
e-mail carries it and its expiry (Unix seconds), never a name or an address. An answer about a
planned step (held, postponed, cancelled) names its step too, signed like the rest so that nobody
can point it at another step: `p2.<key id>.<collaboration id>.<party>.<action>.<step>.<seq>.
<expires>.<signature>`. The signature is an HMAC-SHA256 of the version, the key id and those
fields under a key of `PASSERELLE_PORTAL_KEYS` (the first signs, every one verifies, so keys rotate
like the encryption keys), cut to 128 bits. A token is a function of its fields: a retried
delivery renders the same links. Its *id* (`Link.id`) leaves the key out, so a link keeps its
single use across a key rotation.

Pure: the renderer signs at delivery (the workflow never sees a key), the portal verifies.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from schemas.partners import PARTIES, STEP_ACTIONS, PartnerAction

VERSION = "p1"  # a link of the four answers about the collaboration
STEP_VERSION = "p2"  # a link of an answer about one planned step: the token names the step
SIGNATURE_BYTES = 16
# The answers each kind of e-mail offers, in the order the e-mails list them.
ANSWERS = tuple(a for a in PartnerAction if a not in STEP_ACTIONS)
STEP_ANSWERS = (PartnerAction.HELD, PartnerAction.POSTPONED, PartnerAction.CANCELLED)
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NUMBER = re.compile(r"^[0-9]{1,12}$")
_STEP = re.compile(r"^s[1-9][0-9]{0,5}$")  # `schemas.steps.StepId`


class BadLink(Exception):
    """A token that is not one of ours: malformed, altered, or signed with an unknown key."""


@dataclass(frozen=True)
class Link:
    """What a verified token says."""

    collaboration_id: str
    party: str
    action: PartnerAction
    seq: int
    expires: datetime
    step: str = ""  # the planned step a step answer is about; empty for the four others

    @property
    def version(self) -> str:
        return STEP_VERSION if self.step else VERSION

    @property
    def body(self) -> str:
        """Return the signed fields, without the version and the key id."""
        stamp = int(self.expires.timestamp())
        step = f".{self.step}" if self.step else ""
        return f"{self.collaboration_id}.{self.party}.{self.action.value}{step}.{self.seq}.{stamp}"

    @property
    def id(self) -> str:
        """Return the link's id: what the portal marks used and the workflow records."""
        return hashlib.sha256(self.body.encode()).hexdigest()[:32]

    def expired(self, now: datetime) -> bool:
        """Return whether the link has expired at `now`."""
        return now >= self.expires


def _mac(key: bytes, version: str, kid: str, body: str) -> str:
    digest = hmac.new(key, f"{version}.{kid}.{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode()


class LinkSigner:
    """Signs and verifies partner links with `(key id, key)` pairs, the signing key first."""

    def __init__(self, keys: Sequence[tuple[str, bytes]], base_url: str, days: float):
        if not keys:
            raise ValueError("a link signer needs at least one key")
        self._keys = dict(keys)
        self._kid = keys[0][0]
        self.base_url = base_url.rstrip("/")
        self.lifetime = timedelta(days=days)

    def __repr__(self) -> str:  # never show key material
        return f"LinkSigner(key_ids={list(self._keys)}, base_url={self.base_url!r})"

    def derive(self, purpose: bytes) -> bytes:
        """Return a secret of the signing key for another use (the portal's CSRF tokens)."""
        return hmac.new(self._keys[self._kid], purpose, hashlib.sha256).digest()

    def token(self, link: Link) -> str:
        """Return the signed token of `link`, under the signing key."""
        mac = _mac(self._keys[self._kid], link.version, self._kid, link.body)
        return f"{link.version}.{self._kid}.{link.body}.{mac}"

    def links(
        self,
        collaboration_id: str,
        party: str,
        seq: int,
        sent_at: datetime,
        step: str = "",
        step_at: datetime | None = None,
    ) -> dict[str, str]:
        """Return the URL of each action for `party`, for the e-mail of event `seq`: the four
        answers about the collaboration, or, with `step`, the three about that planned step.

        They last `lifetime` from the e-mail, or, for a step planned later (an invitation weeks
        ahead), from the step's time: its "it took place" is answered after it."""
        if step and not _STEP.match(step):
            raise ValueError(f"step: {step!r} is no step id (s1, s2...)")
        expires = max(sent_at, step_at or sent_at) + self.lifetime
        actions = STEP_ANSWERS if step else ANSWERS
        links = [Link(collaboration_id, party, action, seq, expires, step) for action in actions]
        return {link.action.value: f"{self.base_url}/a/{quote(self.token(link))}" for link in links}

    def verify(self, token: str) -> Link:
        """Return what a token says, or raise BadLink; expiry is the caller's to check."""
        parts = token.split(".")
        if not ((parts[0] == VERSION and len(parts) == 8) or (parts[0] == STEP_VERSION and len(parts) == 9)):
            raise BadLink("not a partner link")
        version, kid, collaboration_id, party, action, *fields, signature = parts
        step, seq, stamp = fields if len(fields) == 3 else ("", *fields)
        key = self._keys.get(kid)
        if key is None:
            raise BadLink("signed with a key this portal does not hold")
        if not (_ID.match(collaboration_id) and _NUMBER.match(seq) and _NUMBER.match(stamp)):
            raise BadLink("malformed")
        if version == STEP_VERSION and not _STEP.match(step):
            raise BadLink("malformed")
        body = ".".join((collaboration_id, party, action, *fields))
        if not hmac.compare_digest(signature.encode(), _mac(key, version, kid, body).encode()):
            raise BadLink("bad signature")
        if party not in PARTIES or action not in PartnerAction._value2member_map_:
            raise BadLink("malformed")  # signed by us: cannot happen unless a key leaked
        if (PartnerAction(action) in STEP_ACTIONS) != bool(step):
            raise BadLink("malformed")  # likewise: a step answer always names its step
        expires = datetime.fromtimestamp(int(stamp), tz=UTC)
        return Link(collaboration_id, party, PartnerAction(action), int(seq), expires, step)
