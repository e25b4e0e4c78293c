"""`passerelle login`'s device flow against a real OpenID Connect provider (passerelle/devstack/oidc/provider.mjs).

The provider is oidc-provider, run by node; the user's browser step is scripted over HTTP
(passerelle/devstack/user_step.py). The access tokens it issues are checked by the codec server's own
verifier (passerelle/platform/codec_auth.py), which fetches the provider's JWKS, so the tests
cover the path a Web UI token takes too: device flow, refresh, then a key rotation.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from passerelle.devstack.user_step import complete_device_login
from passerelle.platform.codec_auth import CodecAuth, NotServed, Verifier
from passerelle.platform.oidc_device import (
    DeviceFlowClient,
    DeviceFlowError,
    Tokens,
    load_tokens,
    save_tokens,
)
from tests.oidc.logins import AUDIENCE, CLIENT, FAST
from tests.oidc.server import Provider, oidc_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture
def fresh_provider() -> Iterator[Provider]:
    """A provider of the test's own: key rotation changes it for good."""
    with oidc_provider() as running:
        yield running


def verifier(provider: Provider) -> Verifier:
    return Verifier(CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE))


def claims(provider: Provider, token: str) -> dict[str, Any]:
    """The token's claims, checked against the provider's published keys."""
    key = jwt.PyJWKClient(provider.jwks_url).get_signing_key_from_jwt(token)
    decoded: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=provider.issuer
    )
    return decoded


async def login(provider: Provider, account: str, http: httpx.AsyncClient) -> tuple[Tokens, int]:
    """Run the whole device flow as `account`; return the tokens and how often the CLI polled."""
    client = DeviceFlowClient(provider.issuer, CLIENT, http, default_interval=FAST)
    started = await client.start()
    assert started.verification_uri_complete is not None
    polls = 0

    async def counted_sleep(seconds: float) -> None:
        nonlocal polls
        polls += 1
        await asyncio.sleep(seconds)

    polling = asyncio.create_task(client.poll(started, sleep=counted_sleep))
    await asyncio.sleep(5 * FAST)  # the CLI polls before the user has signed in: pending, not an error
    title = await asyncio.to_thread(complete_device_login, started.verification_uri_complete, account)
    assert title == "Sign-in Success"
    return await asyncio.wait_for(polling, 10), polls


async def test_device_flow_gives_a_jwt_the_codec_verifier_accepts(provider: Provider) -> None:
    async with httpx.AsyncClient() as http:
        tokens, polls = await login(provider, "anne", http)

    assert polls >= 3, "the CLI should have waited through authorization_pending"
    assert tokens.refresh_token, "offline_access gives a refresh token"
    assert jwt.get_unverified_header(tokens.access_token)["typ"] == "at+jwt"
    seen = claims(provider, tokens.access_token)
    assert seen["sub"] == "anne"
    assert seen["email"] == "anne@coalition-next.example"
    assert seen["email_verified"] is True
    assert seen["groups"] == ["coalition-next:operator"]
    assert seen["client_id"] == CLIENT

    caller = await verifier(provider).check(f"Bearer {tokens.access_token}")
    assert caller is not None and caller.startswith("subject ")


async def test_refresh_rotates_the_refresh_token(provider: Provider) -> None:
    async with httpx.AsyncClient() as http:
        first, _ = await login(provider, "claire", http)
        assert first.refresh_token is not None
        client = DeviceFlowClient(provider.issuer, CLIENT, http)
        second = await client.refresh(first.refresh_token)

        assert second.access_token != first.access_token
        assert claims(provider, second.access_token)["groups"] == ["coalition-next:approver"]
        # A public client's refresh token is single-use: the provider sends a new one each time,
        # and a used one is refused (its reuse is how a stolen copy shows).
        assert second.refresh_token and second.refresh_token != first.refresh_token
        with pytest.raises(DeviceFlowError) as refused:
            await client.refresh(first.refresh_token)
        assert refused.value.error == "invalid_grant"
        # The reuse revokes the whole grant, the newest refresh token with it: two `passerelle`
        # commands that refresh from one cache at once would log the user out.
        with pytest.raises(DeviceFlowError) as revoked:
            await client.refresh(second.refresh_token)
        assert revoked.value.error == "invalid_grant"


async def test_a_user_who_aborts_ends_the_flow(provider: Provider) -> None:
    async with httpx.AsyncClient() as http:
        client = DeviceFlowClient(provider.issuer, CLIENT, http, default_interval=FAST)
        started = await client.start()
        assert started.verification_uri_complete is not None
        await asyncio.to_thread(complete_device_login, started.verification_uri_complete, "anne", abort=True)
        with pytest.raises(DeviceFlowError) as refused:
            await client.poll(started)
    assert refused.value.error == "access_denied"


async def test_slow_down_lengthens_the_interval_for_good(provider: Provider) -> None:
    """oidc-provider never sends slow_down: a transport answers in its place (RFC 8628 §3.5)."""
    answers = iter(["slow_down", "authorization_pending", "slow_down"])
    waits: list[float] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": next(answers, "access_denied")})

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient() as real:
        client = DeviceFlowClient(provider.issuer, CLIENT, real, default_interval=1.0)
        started = await client.start()
        endpoints = await client.endpoints()
    mocked = httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint))
    async with mocked:
        client = DeviceFlowClient(provider.issuer, CLIENT, mocked)
        client._endpoints = endpoints  # discovery came from the real provider
        with pytest.raises(DeviceFlowError):
            await client.poll(started, sleep=no_sleep)
    assert waits == [1.0, 6.0, 6.0, 11.0]


async def test_key_rotation(fresh_provider: Provider) -> None:
    """Publish a new key, sign with it, then withdraw the old one.

    While both are published, tokens of either key verify. Once the old key is withdrawn, its
    tokens are refused by any verifier that reads the JWKS afresh: a token's life (5 minutes here)
    is what the old key must stay published for after the switch.
    """
    provider = fresh_provider
    async with httpx.AsyncClient() as http:
        old, _ = await login(provider, "anne", http)
        first_kid = jwt.get_unverified_header(old.access_token)["kid"]

        kids = provider.add_key()
        assert kids[0] == first_kid and len(kids) == 2, "a new key is published before it signs"
        kids = provider.promote_key()
        assert kids[1] == first_kid
        assert old.refresh_token is not None
        new = await DeviceFlowClient(provider.issuer, CLIENT, http).refresh(old.refresh_token)
        assert jwt.get_unverified_header(new.access_token)["kid"] == kids[0], "the new key signs"

        overlap = verifier(provider)
        assert await overlap.check(f"Bearer {old.access_token}")
        assert await overlap.check(f"Bearer {new.access_token}")

        assert provider.retire_keys() == [kids[0]]
        after = verifier(provider)
        assert await after.check(f"Bearer {new.access_token}")
        with pytest.raises(NotServed) as refused:
            await after.check(f"Bearer {old.access_token}")
        assert refused.value.status == 401
        assert refused.value.reason == "the token is signed by a key the provider does not publish"

        # A verifier keeps a fetched key set for JWKS_TTL: until then it still accepts the old key's
        # tokens. Offline re-verification of history therefore cannot rely on the live JWKS.
        assert await overlap.check(f"Bearer {old.access_token}")


def test_the_token_cache_is_owner_only(tmp_path: Any) -> None:
    path = tmp_path / "passerelle" / "tokens.json"
    tokens = Tokens(access_token="a" * 40, expires_at=1.0, refresh_token="r" * 40)
    save_tokens(path, tokens)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert load_tokens(path) == tokens
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="readable by others"):
        load_tokens(path)
