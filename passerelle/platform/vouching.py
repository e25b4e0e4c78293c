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

The worker's codec (`passerelle.platform.actor_codec.ActorCodec`) checks the statement of every
payload it decodes, live and on replay alike, and marks the payload with its finding (`ACTOR`):
the verified actor, or why there is none. A mark a client wrote itself is removed first, whatever
it says. The workflow reads the mark (`workflows.requests.unwrap`) and never sees a key.
"""

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from temporalio.api.common.v1 import Payload

from passerelle.platform.keys import parse_keys
from schemas.actors import ACTOR_MARK

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
            # Ed25519 signs deterministically: without it, the same arguments sent by one login in
            # one second (the same update to several collaborations) would make one statement, and
            # each collaboration after the first would refuse it as used elsewhere.
            "n": secrets.token_hex(8),
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
    statement = read_statement(body)
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


def read_statement(body: bytes) -> dict[str, Any] | None:
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
