"""Actor statements: what proves an actor, and what does not (`passerelle.platform.vouching`).

The codec server's signer seals a statement into a payload; the worker's `ActorCodec` marks the
payload with what the statement proves. A statement moved onto other arguments, signed by a key
nobody registered, or altered proves nothing; a mark a client wrote proves nothing either. Every
payload without a statement or a mark (the near misses: any other metadata, any data) passes
through untouched.
"""

import base64
import json
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload

from passerelle.platform.actor_codec import ActorCodec
from passerelle.platform.codec import EncryptionCodec, new_key
from passerelle.platform.identity import ClaimsMapping, mapping_from
from passerelle.platform.vouching import (
    ACTOR,
    SIGNATURE,
    STATEMENT,
    Claims,
    Signer,
    fingerprint,
    new_vouching_key,
)

SIGNER = Signer((("v2", base64.b64decode(new_vouching_key())), ("v1", base64.b64decode(new_vouching_key()))))
ROGUE = Signer((("v2", base64.b64decode(new_vouching_key())),))  # the same id, another key
ANNE = Claims("https://id.example", "anne", "anne@coalition-next.example", ("coalition-next:operator",))


def keys_of(signer: Signer):  # type: ignore[no-untyped-def]
    known = signer.public_keys()

    async def keys(ids: Sequence[str]) -> Mapping[str, bytes]:
        return {i: known[i] for i in ids if i in known}

    return keys


def plain(data: dict[str, object]) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(data).encode())


async def mark_of(payload: Payload, codec: ActorCodec | None = None) -> dict[str, object] | None:
    (decoded,) = await (codec or ActorCodec(None, keys_of(SIGNER))).decode([payload])
    raw = decoded.metadata.get(ACTOR)
    return None if raw is None else json.loads(raw)


async def test_a_sealed_statement_proves_its_actor_through_encryption() -> None:
    master = EncryptionCodec((("k", base64.b64decode(new_key())),))
    (sealed,) = await master.encode([SIGNER.seal(plain({"kind": "NDA signed"}), ANNE)])
    assert STATEMENT.encode() not in sealed.SerializeToString(), "the statement travels inside the ciphertext"
    mark = await mark_of(sealed, ActorCodec(master, keys_of(SIGNER)))
    assert mark is not None and "verified" in mark, mark
    verified = mark["verified"]
    assert isinstance(verified, dict)
    assert (verified["subject"], verified["email"], verified["key"]) == ("anne", ANNE.email, "v2")
    assert verified["fingerprint"] == fingerprint(SIGNER.public_keys()["v2"])


@pytest.mark.parametrize(
    ("forge", "why"),
    [
        ("other arguments", "made for other arguments"),
        ("unknown key", "not known"),
        ("altered statement", "signature does not verify"),
        ("rogue key under a known id", "signature does not verify"),
        ("no signature", "signature does not verify"),
    ],
)
async def test_a_statement_that_does_not_hold_proves_nothing(forge: str, why: str) -> None:
    payload = SIGNER.seal(plain({"kind": "NDA signed", "by": ANNE.email}), ANNE)
    keys = keys_of(SIGNER)
    if forge == "other arguments":
        payload.data = json.dumps({"kind": "contract signed", "by": ANNE.email}).encode()
    elif forge == "unknown key":
        keys = keys_of(Signer((("v9", base64.b64decode(new_vouching_key())),)))
    elif forge == "altered statement":
        statement = json.loads(payload.metadata[STATEMENT])
        statement["roles"] = ["coalition-next:admin"]
        payload.metadata[STATEMENT] = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    elif forge == "rogue key under a known id":
        payload = ROGUE.seal(plain({"kind": "NDA signed"}), ANNE)
    else:
        del payload.metadata[SIGNATURE]
    mark = await mark_of(payload, ActorCodec(None, keys))
    assert mark is not None and "verified" not in mark
    assert why in str(mark["unproven"])


async def test_a_clients_own_mark_is_removed() -> None:
    payload = plain({"kind": "NDA signed"})
    payload.metadata[ACTOR] = json.dumps({"verified": {"subject": "claire"}}).encode()
    assert await mark_of(payload) is None


async def test_statements_of_an_older_key_still_prove_after_rotation() -> None:
    old = Signer((SIGNER.keys[1],))
    payload = old.seal(plain({"kind": "NDA signed"}), ANNE)
    mark = await mark_of(payload)  # SIGNER now signs with v2 and still lists v1
    assert mark is not None and mark["verified"]["key"] == "v1"  # type: ignore[index]


metadata = st.dictionaries(
    st.text(min_size=1, max_size=20).filter(lambda k: k not in (STATEMENT, SIGNATURE, ACTOR)),
    st.binary(max_size=40),
    max_size=4,
)


@given(metadata, st.binary(max_size=200))
async def test_payloads_without_a_statement_pass_through_untouched(
    meta: dict[str, bytes], data: bytes
) -> None:
    payload = Payload(metadata=meta, data=data)
    (decoded,) = await ActorCodec(None, keys_of(SIGNER)).decode([payload])
    assert decoded == payload


def test_roles_are_read_from_the_configured_claims_and_only_programme_roles_count() -> None:
    token = {
        "iss": "https://kc.example/realms/p",
        "sub": "f3c1",
        "jti": "t1",
        "email": "Anne@Coalition-Next.example",
        "groups": ["coalition-next:operator", "/staff", "coalition-next:owner"],
        "realm_access": {"roles": ["offline_access", "french-tech:auditor"]},
        "roles": "coalition-next:approver",
    }
    claims = ClaimsMapping().claims(token, "kid-1")
    assert claims.roles == ("coalition-next:approver", "coalition-next:operator", "french-tech:auditor")
    staff = ClaimsMapping().claims(token | {"groups": ["*:admin", "*:owner", "**:admin"]}, None)
    assert staff.roles == ("*:admin", "coalition-next:approver", "french-tech:auditor")
    assert claims.email == "anne@coalition-next.example"
    assert (claims.token_id, claims.token_key) == ("t1", "kid-1")
    only_groups = mapping_from({"PASSERELLE_ROLES_CLAIMS": "groups"}).claims(token, None)
    assert only_groups.roles == ("coalition-next:operator",)
    entra = mapping_from({"PASSERELLE_EMAIL_CLAIM": "preferred_username"})
    assert entra.claims(token | {"preferred_username": "anne@x.example"}, None).email == "anne@x.example"
    unverified = ClaimsMapping().claims(token | {"email_verified": False}, None)
    assert unverified.email is None, "an e-mail the provider has not verified names nobody"


@pytest.mark.parametrize(
    "statement",
    [
        b"[" * 100_000,
        b"{" + b" " * 5000 + b"}",
        b"\xff\xfe",
        b'{"v": 1, "key": "' + b"k" * 500 + b'"}',
        b"[]",
    ],
    ids=["nested past the parser", "over 4 KB", "not UTF-8", "key id too long", "not an object"],
)
async def test_a_hostile_statement_is_refused_not_a_crash(statement: bytes) -> None:
    payload = plain({"kind": "NDA signed"})
    payload.metadata[STATEMENT] = statement
    payload.metadata[SIGNATURE] = b"\x00" * 64
    mark = await mark_of(payload)
    assert mark is not None and "unproven" in mark
    assert len(str(mark["unproven"])) < 200, "a refusal travels in clear: it never repeats the input"


async def test_the_same_arguments_sealed_twice_in_one_second_are_two_statements() -> None:
    """The same update sent to several collaborations at once (`passerelle bulk`, the demo's steps)
    gets a statement of its own for each: one collaboration never holds another's."""
    from datetime import UTC, datetime

    from passerelle.platform.vouching import statement_id

    now = datetime(2027, 3, 1, 9, tzinfo=UTC)
    first, second = (SIGNER.seal(plain({"step": "s1", "by": "anne"}), ANNE, now) for _ in range(2))
    assert statement_id(first.metadata[SIGNATURE]) != statement_id(second.metadata[SIGNATURE])
    for sealed in (first, second):
        mark = await mark_of(sealed)
        assert mark is not None and "verified" in mark, mark
