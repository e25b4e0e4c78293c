"""The codec server's rate stops one caller's flood and only that caller's.

It counts per token where there is one (a JWT's subject, the static token), per address otherwise;
refused tokens spend their address's budget; a large body costs more than a small one; nothing is
counted on loopback without a token (`passerelle dev`). Real requests against a real server, with
the JWKS endpoint of tests/security/test_codec_server_auth.py.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from passerelle.platform.codec import EncryptionCodec, new_key
from passerelle.platform.codec_auth import CodecAuth, codec_auth_from
from passerelle.platform.codec_server import COST_UNIT, MAX_BODY, caller, cost, start_codec_server
from passerelle.platform.keys import parse_keys
from tests.integration.test_encryption import free_port
from tests.network import lan_address
from tests.security.test_codec_server_auth import (
    AUDIENCE,
    ISSUER,
    STATIC,
    UI,
    decode,
    jwks,
    sealed_body,
    signed,
)

__all__ = ["jwks"]  # the fixture, used by name

RATE = 5


def codec() -> EncryptionCodec:
    return EncryptionCodec(parse_keys(f"k1:{new_key()}"))


@pytest_asyncio.fixture
async def limited(jwks: str) -> AsyncIterator[tuple[str, EncryptionCodec]]:
    """A codec server taking both kinds of token, at `RATE` requests a minute per caller."""
    sealer = codec()
    env = {
        "PASSERELLE_CODEC_TOKEN": STATIC,
        "PASSERELLE_CODEC_JWKS_URL": jwks,
        "PASSERELLE_CODEC_ISSUER": ISSUER,
        "PASSERELLE_CODEC_AUDIENCE": AUDIENCE,
        "PASSERELLE_CODEC_RATE": str(RATE),
    }
    port = free_port()
    runner = await start_codec_server(sealer, [UI], "127.0.0.1", port, codec_auth_from(env))
    yield f"http://127.0.0.1:{port}", sealer
    await runner.cleanup()


async def statuses(url: str, body: str, tokens: list[str | None]) -> list[int]:
    """Send one /decode per token, all at once; return the statuses, sorted (200 before 429)."""
    answers = await asyncio.gather(*(decode(url, body, token) for token in tokens))
    return sorted(status for status, _ in answers)


async def test_a_flood_from_one_caller_is_refused_and_other_tokens_keep_their_own_budget(
    limited: tuple[str, EncryptionCodec],
) -> None:
    """Thirty requests at once from one subject: five answered; another subject and the static
    token are served in full; a new token of the flooding subject is still the same caller."""
    url, sealer = limited
    body = await sealed_body(sealer)
    flood = [signed(sub="alice", jti=str(uuid.uuid4())) for _ in range(30)]
    assert await statuses(url, body, flood) == [200] * RATE + [429] * (30 - RATE)
    assert await statuses(url, body, [signed(sub="alice", jti="fresh")]) == [429]
    assert await statuses(url, body, [signed(sub="bob")] * RATE) == [200] * RATE
    assert await statuses(url, body, [STATIC] * RATE) == [200] * RATE
    status, text = await decode(url, body, signed(sub="alice", jti="again"))
    assert status == 429 and "payloads" not in text and "too many requests" in text


async def test_refused_tokens_spend_their_address_budget_not_the_callers(
    limited: tuple[str, EncryptionCodec],
) -> None:
    """Guessing tokens from one address is bounded; a good token from it still has its budget."""
    url, sealer = limited
    body = await sealed_body(sealer)
    guesses = [STATIC[:-1] + str(i % 10) for i in range(RATE + 3)]
    assert await statuses(url, body, guesses) == [401] * RATE + [429] * 3
    assert await statuses(url, body, [STATIC] * RATE) == [200] * RATE


async def test_a_large_body_spends_more_of_the_budget(limited: tuple[str, EncryptionCodec]) -> None:
    """One request of 4 × 64 KB costs five: the caller's next request is refused."""
    url, sealer = limited
    (big,) = await sealer.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1" * 4 * COST_UNIT)])
    body = json_format.MessageToJson(Payloads(payloads=[big]))
    assert (await decode(url, body, STATIC))[0] == 200
    assert (await decode(url, await sealed_body(sealer), STATIC))[0] == 429
    assert cost(300) == 1 and cost(COST_UNIT) == 2 and cost(MAX_BODY) == cost(None) == 65


async def test_nothing_is_counted_on_loopback_without_a_token() -> None:
    """The dev stack's codec server: only this machine reaches it, and its one user is not stopped."""
    sealer, port = codec(), free_port()
    runner = await start_codec_server(sealer, [UI], "127.0.0.1", port, CodecAuth(rate_per_minute=RATE))
    try:
        body = await sealed_body(sealer)
        assert await statuses(f"http://127.0.0.1:{port}", body, [None] * 4 * RATE) == [200] * 4 * RATE
    finally:
        await runner.cleanup()
    assert caller(None, "127.0.0.1", CodecAuth()) is None and caller(None, "::1", CodecAuth()) is None
    assert caller(None, "172.18.0.1", CodecAuth()) == "address 172.18.0.1"
    assert caller("subject 1f", "127.0.0.1", CodecAuth(token=STATIC)) == "subject 1f"


async def test_callers_without_a_token_beyond_loopback_are_counted_by_address() -> None:
    """compose's codec server (`--allow-unauthenticated`): its callers come from Docker's gateway."""
    host = lan_address()
    if host is None:
        pytest.skip("no network address beside loopback to call from")
    sealer, port = codec(), free_port()
    auth = CodecAuth(rate_per_minute=RATE)
    runner = await start_codec_server(sealer, [UI], host, port, auth, allow_unauthenticated=True)
    try:
        body = await sealed_body(sealer)
        found = await statuses(f"http://{host}:{port}", body, [None] * (RATE + 3))
    finally:
        await runner.cleanup()
    assert found == [200] * RATE + [429] * 3
