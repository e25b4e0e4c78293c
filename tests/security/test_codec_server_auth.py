"""The codec server decrypts only for a valid bearer token, an allowed Host, within its rate.

Real tokens against a real server: the test serves a JWKS endpoint of its own (an RSA key), then
sends the codec server good, expired, wrong-audience, wrong-issuer, wrong-key, `alg=none` and
HS256-signed-with-the-public-key tokens, the static token and near misses of it. Every refusal is
an HTTP error with no payload in it.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from passerelle.platform.codec import EncryptionCodec, new_key
from passerelle.platform.codec_auth import CodecAuth, CodecAuthError, codec_auth_from
from passerelle.platform.codec_server import MAX_BODY, start_codec_server
from passerelle.platform.keys import parse_keys
from passerelle.platform.rate_limit import RateLimit
from tests.e2e.cli import assert_one_line_error, passerelle
from tests.integration.test_encryption import free_port

ISSUER, AUDIENCE, UI = (
    "https://login.programme.example/realms/ops",
    "passerelle-codec",
    "http://localhost:8080",
)
STATIC = "s" * 20 + base64.urlsafe_b64encode(b"0123456789abcdef").decode()
SECRET_TEXT = b'{"owner_email": "operator@programme.example"}'


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER = rsa_key(), rsa_key()
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "ops", "iat": now, "exp": now + 300, **changes}


def signed(key: Any = KEY, alg: str = "RS256", kid: str = "k1", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid})


def unsigned() -> str:
    """`alg=none`, built by hand (a library refuses to make one)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{part(claims())}."


def hs_with_public_key() -> str:
    """HS256 keyed with the RSA public key: accepted by a verifier that trusts the token's `alg`."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    body = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    body += "." + base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    mac = hmac.new(PUBLIC_PEM, body.encode(), hashlib.sha256).digest()
    return body + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@pytest_asyncio.fixture
async def jwks() -> AsyncIterator[str]:
    """A provider's JWKS endpoint, serving KEY's public half as `k1`."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    document = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app = web.Application()
    app.router.add_get("/certs", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/certs"
    await runner.cleanup()


@pytest_asyncio.fixture
async def server(jwks: str) -> AsyncIterator[tuple[str, EncryptionCodec]]:
    codec = EncryptionCodec(parse_keys(f"k1:{new_key()}"))
    auth = codec_auth_from(
        {
            "PASSERELLE_CODEC_TOKEN": STATIC,
            "PASSERELLE_CODEC_JWKS_URL": jwks,
            "PASSERELLE_CODEC_ISSUER": ISSUER,
            "PASSERELLE_CODEC_AUDIENCE": AUDIENCE,
            "PASSERELLE_CODEC_RATE": "600",
        }
    )
    port = free_port()
    runner = await start_codec_server(codec, [UI], "127.0.0.1", port, auth)
    yield f"http://127.0.0.1:{port}", codec
    await runner.cleanup()


async def sealed_body(codec: EncryptionCodec) -> str:
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payload, Payloads

    (payload,) = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET_TEXT)])
    return json_format.MessageToJson(Payloads(payloads=[payload]))


async def decode(url: str, body: str, token: str | None, **headers: str) -> tuple[int, str]:
    sent = {"Content-Type": "application/json", "Origin": UI, **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.post(f"{url}/decode", data=body, headers=sent) as r:
        return r.status, await r.text()


REFUSED_TOKENS = {
    "none": None,
    "empty": "",
    "garbage": "not-a-token",
    "static near miss": STATIC[:-1] + ("A" if STATIC[-1] != "A" else "B"),
    "static prefix": STATIC[:-4],
    "expired": lambda: signed(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "wrong audience": lambda: signed(aud="another-app"),
    "wrong issuer": lambda: signed(iss="https://evil.example"),
    "no expiry": lambda: jwt.encode(
        {k: v for k, v in claims().items() if k != "exp"}, KEY, algorithm="RS256", headers={"kid": "k1"}
    ),
    "wrong key": lambda: signed(key=OTHER),
    "unknown kid": lambda: signed(key=OTHER, kid="k9"),
    "alg none": unsigned,
    "HS/RS confusion": hs_with_public_key,
    "RS512 not pinned": lambda: signed(alg="RS512"),
}


@pytest.mark.parametrize("case", list(REFUSED_TOKENS))
async def test_a_bad_token_decodes_nothing(server: tuple[str, EncryptionCodec], case: str) -> None:
    url, codec = server
    made = REFUSED_TOKENS[case]
    token = made() if callable(made) else made
    status, text = await decode(url, await sealed_body(codec), token)
    assert status == 401, (case, status, text)
    assert "operator@programme.example" not in text and "payloads" not in text


@pytest.mark.parametrize("token", ["jwt", "static"])
async def test_a_good_token_decodes(server: tuple[str, EncryptionCodec], token: str) -> None:
    url, codec = server
    status, text = await decode(url, await sealed_body(codec), signed() if token == "jwt" else STATIC)
    assert status == 200, text
    assert base64.b64decode(json.loads(text)["payloads"][0]["data"]) == SECRET_TEXT


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8081", "127.0.0.1.nip.io", ""])
async def test_a_foreign_host_header_is_refused(server: tuple[str, EncryptionCodec], host: str) -> None:
    """DNS rebinding: a page on another name reaches this address but sends its own name."""
    url, codec = server
    status, text = await decode(url, await sealed_body(codec), STATIC, Host=host)
    assert status in (400, 421) and "payloads" not in text, (status, text)


async def test_an_oversized_body_is_refused(server: tuple[str, EncryptionCodec]) -> None:
    url, _ = server
    status, _ = await decode(url, '{"payloads": [{"data": "' + "A" * MAX_BODY + '"}]}', STATIC)
    assert status == 413


async def test_the_rate_per_caller_is_bounded() -> None:
    codec = EncryptionCodec(parse_keys(f"k1:{new_key()}"))
    port = free_port()
    runner = await start_codec_server(
        codec, [UI], "127.0.0.1", port, CodecAuth(token=STATIC, rate_per_minute=5)
    )
    try:
        body = await sealed_body(codec)
        statuses = [(await decode(f"http://127.0.0.1:{port}", body, STATIC))[0] for _ in range(7)]
    finally:
        await runner.cleanup()
    assert statuses == [200] * 5 + [429] * 2
    bucket = RateLimit(60)
    assert all(bucket.allow("a", now=0) for _ in range(60)) and not bucket.allow("a", now=0)
    assert bucket.allow("a", now=1.0) and bucket.allow("b", now=0)  # refills; callers apart


async def test_it_refuses_to_bind_beyond_loopback_without_a_token() -> None:
    codec = EncryptionCodec(parse_keys(f"k1:{new_key()}"))
    with pytest.raises(CodecAuthError, match="PASSERELLE_CODEC_TOKEN"):
        await start_codec_server(codec, [UI], "0.0.0.0", free_port())  # noqa: S104 - refused
    anywhere = "0.0.0.0"  # noqa: S104 - the bind it must refuse
    result = await passerelle(
        {"PASSERELLE_ENCRYPTION_KEYS": f"k1:{new_key()}"}, "codec-server", "--host", anywhere
    )
    assert_one_line_error(result, 1, "needs PASSERELLE_CODEC_TOKEN or PASSERELLE_CODEC_JWKS_URL")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PASSERELLE_CODEC_TOKEN": "short"}, "at least 32"),
        ({"PASSERELLE_CODEC_JWKS_URL": "https://x.example/certs"}, "ISSUER"),
        ({"PASSERELLE_CODEC_TOKEN": STATIC, "PASSERELLE_CODEC_ALGORITHMS": "HS256"}, "public-key"),
        ({"PASSERELLE_CODEC_TOKEN": STATIC, "PASSERELLE_CODEC_ALGORITHMS": "none"}, "public-key"),
        ({"PASSERELLE_CODEC_RATE": "lots"}, "whole number"),
    ],
)
def test_a_weak_configuration_is_refused_naming_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(CodecAuthError, match=says):
        codec_auth_from(env)


def test_the_token_never_shows_in_a_repr() -> None:
    assert STATIC not in repr(CodecAuth(token=STATIC)) and STATIC not in str(CodecAuth(token=STATIC))


async def test_a_preflight_needs_no_token_and_carries_none(server: tuple[str, EncryptionCodec]) -> None:
    url, _ = server
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{url}/decode", headers={"Origin": UI}) as r:
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == UI
            assert await r.text() == ""
    await asyncio.sleep(0)
