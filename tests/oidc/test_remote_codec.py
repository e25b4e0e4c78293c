"""`passerelle` encodes and decodes through the codec server with its login, holding no key.

The codec server runs in this process (`start_codec_server`, with a master key and the suite's
provider's JWKS); the tokens come from a real device-flow login.
"""

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from passerelle.platform import codec_auth
from passerelle.platform.client import codec_for, converter_for
from passerelle.platform.codec import EncryptionCodec, new_key, sealed
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.keys import parse_keys
from passerelle.platform.oidc_device import save_tokens
from passerelle.platform.remote_codec import CodecServerError, RemoteCodec
from passerelle.platform.settings import Settings, load_settings
from passerelle.platform.token_source import TokenSource
from passerelle.platform.worker import run_worker
from tests.oidc.logins import AUDIENCE, CLIENT, device_login, free_port, login_settings_for
from tests.oidc.server import Provider, oidc_provider

KEYS = parse_keys(f"server:{new_key()}")  # the codec server's; the operator's process has none
PLAIN = [
    Payload(metadata={"encoding": b"json/plain"}, data=b'{"stage": "pilot"}'),
    Payload(metadata={"encoding": b"json/plain"}, data=b'"anne@coalition-next.example"'),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


async def serve(provider: Provider, leeway: int = codec_auth.LEEWAY) -> tuple[str, object]:
    port = free_port()
    auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE, leeway=leeway)
    runner = await start_codec_server(EncryptionCodec(KEYS), [], "127.0.0.1", port, auth)
    return f"http://127.0.0.1:{port}", runner


@pytest.fixture
async def codec_url(provider: Provider) -> AsyncIterator[str]:
    url, runner = await serve(provider)
    yield url
    await runner.cleanup()  # type: ignore[attr-defined]


def operator_settings(provider: Provider, codec_url: str, config: Path) -> Settings:
    """An operator's settings: no key, the codec server's URL, the provider to log in with."""
    return load_settings(
        {
            "PASSERELLE_CODEC_URL": codec_url,
            "PASSERELLE_OIDC_ISSUER": provider.issuer,
            "PASSERELLE_OIDC_CLIENT_ID": CLIENT,
            "XDG_CONFIG_HOME": str(config),
            "PASSERELLE_STATE_DIR": str(config / "state"),
        }
    )


async def test_payloads_round_trip_through_the_codec_server(
    provider: Provider, codec_url: str, tmp_path: Path
) -> None:
    login = login_settings_for(provider, tmp_path)
    save_tokens(login.cache_path(), await device_login(provider, "anne"))
    codec = RemoteCodec(codec_url, TokenSource(login).current_token)
    try:
        encoded = await codec.encode(PLAIN)
        assert all(sealed(p) for p in encoded), "sealed by the server's key"
        assert await EncryptionCodec(KEYS).decode(encoded) == PLAIN
        assert await codec.decode(encoded) == PLAIN
    finally:
        await codec.aclose()


async def test_the_operators_converter_goes_through_the_codec_server(
    provider: Provider, codec_url: str, tmp_path: Path
) -> None:
    """With PASSERELLE_CODEC_URL, `converter_for` seals with the server's key and no key here."""
    settings = operator_settings(provider, codec_url, tmp_path)
    assert settings.encryption_keys == ()
    save_tokens(settings.login.cache_path(), await device_login(provider, "claire"))
    assert isinstance(codec_for(settings), RemoteCodec)
    converter = converter_for(settings)

    payloads = await converter.encode([{"by": "claire.martin@coalition-next.example"}])
    assert sealed(payloads[0])
    assert await converter.decode(payloads, [dict]) == [{"by": "claire.martin@coalition-next.example"}]


async def test_a_garbage_token_is_one_line(codec_url: str) -> None:
    async def garbage() -> str:
        return "not-a-token-" * 4

    with pytest.raises(CodecServerError) as refused:
        await RemoteCodec(codec_url, garbage).encode(PLAIN)
    assert str(refused.value) == (
        "the codec server refused your token: the token is neither the static token nor a JWT; "
        "run passerelle login"
    )


async def test_an_expired_token_is_one_line(tmp_path: Path) -> None:
    """A provider whose tokens live one second, and a codec server without clock-skew leeway
    (30 s otherwise, which this test would have to wait out)."""
    with oidc_provider({"OIDC_ACCESS_TOKEN_TTL": "1"}) as short_lived:
        tokens = await device_login(short_lived, "anne")
        url, runner = await serve(short_lived, leeway=0)
        try:
            await asyncio.sleep(max(0.0, tokens.expires_at - time.time()) + 1.1)

            async def expired() -> str:
                return tokens.access_token

            with pytest.raises(CodecServerError) as refused:
                await RemoteCodec(url, expired).decode(PLAIN)
        finally:
            await runner.cleanup()  # type: ignore[attr-defined]
    assert (
        str(refused.value)
        == "the codec server refused your token: the token has expired; run passerelle login"
    )


async def test_an_unreachable_codec_server_is_named(provider: Provider, tmp_path: Path) -> None:
    login = login_settings_for(provider, tmp_path)
    save_tokens(login.cache_path(), await device_login(provider, "anne"))
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CodecServerError) as unreachable:
        await RemoteCodec(url, TokenSource(login).current_token).encode(PLAIN)
    assert str(unreachable.value).startswith(f"cannot reach the codec server at {url} (")
    assert str(unreachable.value).endswith("): check PASSERELLE_CODEC_URL")


async def test_the_worker_refuses_the_codec_server(provider: Provider, tmp_path: Path) -> None:
    """A worker decodes with keys of its own: PASSERELLE_CODEC_URL on it is a mistake, said at start."""
    settings = dataclasses.replace(
        operator_settings(provider, "http://127.0.0.1:9", tmp_path), encryption_keys=KEYS
    )
    with pytest.raises(SystemExit) as refused:
        await run_worker(settings)
    assert str(refused.value).startswith("PASSERELLE_CODEC_URL is set, but the worker encodes and decodes")
