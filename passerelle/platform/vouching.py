"""Actor statements: who sent a payload, signed by a Passerelle process that checked it.

A human action reaches a collaboration through a process that knows who asked: the codec server
checked the caller's OIDC access token (`passerelle.platform.codec_auth`), the partner portal
checked its signed link. That process signs a *statement* into the metadata of the payload it
encodes, before it is encrypted: the issuer and subject, the verified e-mail, the programme
roles, the token's id and key id (or the link), the time, the id of the *vouching key* that
signs, and the SHA-256 of this very payload. The statement therefore travels inside the
ciphertext, stays in the history for as long as the history does, and cannot be moved onto
other arguments.

Vouching keys are Ed25519 (`PASSERELLE_VOUCHING_KEYS="kid:base64-seed,..."`, current first, like
the encryption keys). Only the codec server and the portal hold the private halves; the workers
and `passerelle audit` hold the public halves (`passerelle.platform.vouching_keys`), so an
auditor re-checks a statement offline years later, whatever the keys rotated to since.

The worker's codec (`ActorCodec`) checks the statement of every payload it decodes, live and on
replay alike, and marks the payload with its finding (`ACTOR`): the verified actor, or why there
is none. A mark a client wrote itself is removed first, whatever it says. The workflow reads the
mark (`workflows.requests.unwrap`) and never sees a key.
"""

import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from passerelle.platform.envelope import workflow_of
from passerelle.platform.keys import parse_keys
from schemas.actors import ACTOR_MARK, Marked

STATEMENT = "passerelle-statement"  # the signed statement, canonical JSON
SIGNATURE = "passerelle-signature"  # its Ed25519 signature, raw
ACTOR = ACTOR_MARK  # the worker codec's finding: {"verified": {...}} or {"unproven": why}
VERSION = 1
MAX_STATEMENT = 4096  # bytes: a statement is a few hundred; a larger one is refused unread
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def digest(payload: Payload) -> str:
    """Return the SHA-256 a statement binds: the payload's encoding and its data."""
    h = hashlib.sha256(payload.metadata.get("encoding", b""))
    h.update(b"\n")
    h.update(payload.data)
    return h.hexdigest()


def canonical(value: Mapping[str, Any]) -> bytes:
    """Return `value` as the one byte string that is signed: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of a public key (what `vouching_keys` stores)."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    """Return the short SHA-256 of a public key, as `audit verify` shows it."""
    return hashlib.sha256(public).hexdigest()[:16]


@dataclass(frozen=True)
class Claims:
    """Who a statement speaks for: what the voucher checked, and nothing it did not."""

    issuer: str
    subject: str
    email: str | None
    roles: tuple[str, ...] = ()
    via: str = "codec"  # "codec": an OIDC token; "portal": a partner link
    token_id: str | None = None  # the access token's `jti`, or the link's id
    token_key: str | None = None  # the provider key that signed the token (`kid`)
    party: str | None = None  # the partner party a portal link speaks for


@dataclass(frozen=True)
class Signer:
    """Signs statements with the current vouching key (the first of `PASSERELLE_VOUCHING_KEYS`)."""

    keys: Sequence[tuple[str, bytes]] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a signer needs at least one vouching key")

    def __repr__(self) -> str:  # never show key material
        return f"Signer(key_ids={[kid for kid, _ in self.keys]})"

    @property
    def key_id(self) -> str:
        return self.keys[0][0]

    def public_keys(self) -> dict[str, bytes]:
        """Return every key's public half by id (the current one and the older ones)."""
        return {
            kid: public_bytes(Ed25519PrivateKey.from_private_bytes(seed).public_key())
            for kid, seed in self.keys
        }

    def seal(self, payload: Payload, claims: Claims, now: datetime | None = None) -> Payload:
        """Return `payload` with a statement for `claims` and its signature in its metadata."""
        statement: dict[str, Any] = {
            "v": VERSION,
            "key": self.key_id,
            "iss": claims.issuer,
            "sub": claims.subject,
            "email": claims.email,
            "roles": sorted(set(claims.roles)),
            "via": claims.via,
            "jti": claims.token_id,
            "kid": claims.token_key,
            "party": claims.party,
            "at": int((now or datetime.now(UTC)).timestamp()),
            "sha256": digest(payload),
        }
        body = canonical(statement)
        signature = Ed25519PrivateKey.from_private_bytes(self.keys[0][1]).sign(body)
        sealed = Payload()
        sealed.CopyFrom(payload)
        sealed.metadata.pop(ACTOR, None)
        sealed.metadata[STATEMENT] = body
        sealed.metadata[SIGNATURE] = signature
        return sealed


def signer_from(raw: str) -> Signer | None:
    """Read `PASSERELLE_VOUCHING_KEYS`; None when it is empty. Errors name the variable."""
    keys = parse_keys(raw, "PASSERELLE_VOUCHING_KEYS")
    return Signer(keys) if keys else None


def new_vouching_key() -> str:
    """Return a fresh Ed25519 seed, base64-encoded, ready for PASSERELLE_VOUCHING_KEYS."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(seed).decode()


class Unproven(ValueError):
    """A statement that does not prove its actor; the message says why, naming no value."""


def check(payload: Payload, public_key: Callable[[str], bytes | None]) -> dict[str, Any]:
    """Return the statement of `payload` once its signature and digest hold; raise Unproven."""
    body, signature = payload.metadata.get(STATEMENT), payload.metadata.get(SIGNATURE)
    if body is None:
        raise Unproven("no actor statement: send it through the codec server with your login token")
    statement = _parsed(body)
    if statement is None or statement.get("v") != VERSION:
        raise Unproven("the actor statement is not one this release reads")
    key = statement.get("key")
    if not isinstance(key, str) or not KEY_ID.fullmatch(key):
        raise Unproven("the actor statement names no valid vouching key id")
    public = public_key(key)
    if public is None:
        raise Unproven(f"the actor statement names vouching key {key!r}, which is not known")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature or b"", body)
    except (InvalidSignature, ValueError):
        raise Unproven("the actor statement's signature does not verify") from None
    if not _well_formed(statement):
        raise Unproven("the actor statement lacks a field it must have")
    bare = Payload()
    bare.CopyFrom(payload)
    for name in (STATEMENT, SIGNATURE, ACTOR):
        bare.metadata.pop(name, None)
    if statement.get("sha256") != digest(bare):
        raise Unproven("the actor statement was made for other arguments")
    return statement


def _parsed(body: bytes) -> dict[str, Any] | None:
    """Return a statement's JSON object, or None for anything else (too long, not JSON, nested
    past the parser's depth)."""
    if len(body) > MAX_STATEMENT:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _well_formed(statement: Mapping[str, Any]) -> bool:
    texts = ("iss", "sub", "sha256")
    optional = ("email", "jti", "kid", "party")
    roles = statement.get("roles")
    return (
        all(isinstance(statement.get(k), str) for k in texts)
        and all(statement.get(k) is None or isinstance(statement.get(k), str) for k in optional)
        and isinstance(statement.get("at"), int)
        and statement.get("via") in ("codec", "portal")
        and isinstance(roles, list)
        and all(isinstance(r, str) for r in roles)
    )


def statement_id(signature: bytes) -> str:
    """Return a statement's identity: the first 64 bits of its signature's SHA-256, in hex."""
    return hashlib.sha256(signature).hexdigest()[:16]


def actor_of(statement: Mapping[str, Any], fingerprint_of: Callable[[str], str]) -> dict[str, Any]:
    """Return what the workflow records of a checked statement (`schemas.actors.VerifiedActor`)."""
    return {
        "issuer": statement["iss"],
        "subject": statement["sub"],
        "email": statement.get("email"),
        "roles": list(statement.get("roles") or []),
        "via": statement.get("via", "codec"),
        "party": statement.get("party"),
        "link": statement.get("jti") if statement.get("via") == "portal" else None,
        "key": statement["key"],
        "fingerprint": fingerprint_of(statement["key"]),
        "at": datetime.fromtimestamp(int(statement["at"]), UTC).isoformat(),
    }


def _proven(
    payload: Payload, statement: Mapping[str, Any], fingerprint_of: Callable[[str], str]
) -> dict[str, Any]:
    return actor_of(statement, fingerprint_of) | {"statement": statement_id(payload.metadata[SIGNATURE])}


PublicKeys = Callable[[Sequence[str]], Awaitable[Mapping[str, bytes]]]
# `first_use(statement id, workflow id)`: the workflow that first used a statement (recording this
# one when it is the first), or None where nothing records uses (a process without a database).
FirstUse = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ActorCodec(PayloadCodec, WithSerializationContext):
    """Decodes with `inner`, then marks each payload with what its statement proves (`ACTOR`).

    `keys(ids)` returns the public vouching keys it knows among `ids` (the `vouching_keys` table,
    read again for an id it has not seen). Encoding is `inner`'s alone: a worker signs nothing.
    """

    inner: PayloadCodec | None
    keys: PublicKeys
    first_use: FirstUse | None = None
    workflow_id: str | None = None  # the collaboration whose payloads these are (its context)

    def with_context(self, context: SerializationContext) -> "ActorCodec":
        inner = self.inner
        if isinstance(inner, WithSerializationContext):
            inner = inner.with_context(context)
        return replace(self, inner=inner, workflow_id=workflow_of(context))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads) if self.inner is None else await self.inner.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = list(payloads) if self.inner is None else await self.inner.decode(payloads)
        return [await self._mark(p) for p in opened]

    async def _mark(self, payload: Payload) -> Payload:
        if ACTOR not in payload.metadata and STATEMENT not in payload.metadata:
            return payload  # the common case: a payload the worker wrote itself
        marked = Payload()
        marked.CopyFrom(payload)
        marked.metadata.pop(ACTOR, None)  # a client's own mark proves nothing
        if STATEMENT not in marked.metadata:
            return marked
        kid = _key_named(marked)
        known = await self.keys([kid]) if kid else {}
        try:
            statement = check(marked, known.get)
            await self._first_here(marked)
            finding: dict[str, Any] = {
                "verified": _proven(marked, statement, lambda k: fingerprint(known[k]))
            }
        except Unproven as why:
            finding = {"unproven": str(why)}
            claimed = _parsed(marked.metadata[STATEMENT]) or {}
            if isinstance(claimed.get("email"), str) and len(claimed["email"]) <= 320:
                # Proves nothing; lets an update that history says was accepted replay as sent
                # (its `by` was the verified e-mail) where this key is not at hand.
                finding["claimed_email"] = claimed["email"]
        marked.metadata[ACTOR] = canonical(finding)
        return marked

    async def _first_here(self, payload: Payload) -> None:
        """Refuse a statement a collaboration other than this one used first: copied out of one
        history into another collaboration, it proves nothing there."""
        if self.first_use is None or self.workflow_id is None:
            return
        first = await self.first_use(statement_id(payload.metadata[SIGNATURE]), self.workflow_id)
        if first is not None and first != self.workflow_id:
            raise Unproven("the actor statement was used by another collaboration first")


def _key_named(payload: Payload) -> str | None:
    statement = _parsed(payload.metadata[STATEMENT])
    key = statement.get("key") if statement else None
    return key if isinstance(key, str) and KEY_ID.fullmatch(key) else None


class MarkedPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, which keeps the codec's mark on an untyped JSON object.

    The workflow takes its start input untyped (`Any`: a start sends one payload to a run of two
    parameters, so the SDK decodes it without type hints), which would drop the payload's
    metadata and the mark with it. A JSON object whose payload the worker's codec marked comes
    out as a `schemas.actors.Marked` dict instead, carrying the mark.
    """

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        values = super().from_payloads(payloads, type_hints)
        return [
            Marked(value, payload.metadata[ACTOR])
            if type(value) is dict and ACTOR in payload.metadata
            else value
            for payload, value in zip(payloads, values, strict=True)
        ]
