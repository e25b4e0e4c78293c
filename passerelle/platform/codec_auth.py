"""Who may ask the codec server to decrypt: a bearer token, a known Host, a bounded rate.

The codec server decrypts whatever it is sent, so it accepts a request only when:
- its `Host` header is one of the allowed hosts (a page on another site that rebinds its DNS name
  to this address still sends its own name, and is refused);
- it carries `Authorization: Bearer <token>` with either the static token
  (`PASSERELLE_CODEC_TOKEN`, compared in constant time) or a JWT signed by a key of the provider's
  JWKS (`PASSERELLE_CODEC_JWKS_URL`), of a pinned algorithm, with the expected issuer and audience,
  not expired: the access token the Web UI forwards once its OIDC login is on;
- its caller has not spent its request budget (`passerelle.platform.codec_server` counts it per
  token, or per address where there is none).
Without any token configured, the server only binds loopback (`check_bind`).
"""

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

JWKS_TTL = 300.0  # seconds a fetched key set is trusted before it is fetched again
JWKS_REFRESH_GAP = 30.0  # an unknown key id refetches the set at most this often
LEEWAY = 30  # seconds of clock skew tolerated on exp/nbf/iat
MIN_TOKEN_LENGTH = 32
# Requests a minute per caller, and the burst a quiet caller may spend at once. Reading a whole
# history is one burst: the `temporal` CLI sends one /decode request per payload, about 3,500 for
# a run of 4,000 events (a run continues-as-new near 4,000), within two seconds; the Web UI's
# decoded download of it the same, within fifteen seconds (docs/security.md, "The codec server's rate").
DEFAULT_RATE = 10_000


class CodecAuthError(ValueError):
    """A codec server configuration that cannot be used (the message names the variable)."""


class NotServed(Exception):
    """A request the codec server does not serve; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class CodecAuth:
    """The codec server's access rules, from `PASSERELLE_CODEC_*`."""

    token: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    allowed_hosts: tuple[str, ...] = ()  # empty: the address it binds, and localhost, on its port
    rate_per_minute: int = DEFAULT_RATE
    leeway: int = LEEWAY  # seconds of clock skew tolerated (PASSERELLE_CODEC_LEEWAY)

    def __repr__(self) -> str:  # the token is a secret
        return f"CodecAuth(token={'set' if self.token else None}, jwks_url={self.jwks_url!r})"

    @property
    def configured(self) -> bool:
        """Return whether any kind of token is required."""
        return bool(self.token or self.jwks_url)


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def codec_auth_from(env: Mapping[str, str]) -> CodecAuth:
    """Read `PASSERELLE_CODEC_*`; raise CodecAuthError naming the variable that is wrong."""
    token = env.get("PASSERELLE_CODEC_TOKEN") or None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise CodecAuthError(f"PASSERELLE_CODEC_TOKEN must be at least {MIN_TOKEN_LENGTH} characters")
    jwks_url = env.get("PASSERELLE_CODEC_JWKS_URL") or None
    issuer = env.get("PASSERELLE_CODEC_ISSUER") or None
    audience = env.get("PASSERELLE_CODEC_AUDIENCE") or None
    if jwks_url and not (issuer and audience):
        raise CodecAuthError(
            "PASSERELLE_CODEC_JWKS_URL needs PASSERELLE_CODEC_ISSUER and PASSERELLE_CODEC_AUDIENCE"
        )
    algorithms = tuple(
        a.strip() for a in env.get("PASSERELLE_CODEC_ALGORITHMS", "RS256").split(",") if a.strip()
    )
    asymmetric = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
    if not algorithms or not set(algorithms) <= asymmetric:
        raise CodecAuthError(
            "PASSERELLE_CODEC_ALGORITHMS must name public-key algorithms only "
            f"({', '.join(sorted(asymmetric))}), not {', '.join(algorithms) or 'nothing'}"
        )
    hosts = tuple(
        h.strip().lower() for h in env.get("PASSERELLE_CODEC_ALLOWED_HOSTS", "").split(",") if h.strip()
    )
    try:
        rate = int(env.get("PASSERELLE_CODEC_RATE", str(DEFAULT_RATE)))
    except ValueError:
        raise CodecAuthError("PASSERELLE_CODEC_RATE must be a whole number of requests per minute") from None
    if rate < 1:
        raise CodecAuthError("PASSERELLE_CODEC_RATE must be at least 1")
    try:
        leeway = int(env.get("PASSERELLE_CODEC_LEEWAY", str(LEEWAY)))
    except ValueError:
        raise CodecAuthError("PASSERELLE_CODEC_LEEWAY must be a whole number of seconds") from None
    if not 0 <= leeway <= 300:
        raise CodecAuthError("PASSERELLE_CODEC_LEEWAY must be between 0 and 300 seconds")
    return CodecAuth(token, jwks_url, issuer, audience, algorithms, hosts, rate, leeway)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:24]


def is_loopback(host: str) -> bool:
    """Return whether a bind address only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: CodecAuth, allow_unauthenticated: bool = False) -> None:
    """Refuse to listen beyond loopback when no token is required (unless explicitly allowed)."""
    if not is_loopback(host) and not auth.configured and not allow_unauthenticated:
        raise CodecAuthError(
            f"the codec server decrypts for anyone who reaches it: binding {host} needs "
            "PASSERELLE_CODEC_TOKEN or PASSERELLE_CODEC_JWKS_URL (docs/configuration.md, Encryption)"
        )


def allowed_hosts(auth: CodecAuth, host: str, port: int) -> frozenset[str]:
    """Return the `Host` values accepted: the configured ones, else this address and localhost."""
    if auth.allowed_hosts:
        return frozenset(auth.allowed_hosts)
    names = {host, "localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else {host}
    return frozenset(f"{name}:{port}".lower() for name in names)


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the rate's key, and a verified JWT's claims and key id."""

    key: str | None
    claims: dict[str, Any] | None = None
    token_key: str | None = None


class Verifier:
    """Checks a request's bearer token against the static token or the provider's JWKS."""

    def __init__(self, auth: CodecAuth) -> None:
        self._auth = auth
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0

    async def check(self, authorization: str | None) -> str | None:
        """Return who the header's accepted token speaks for (None when no token is required);
        raise NotServed(401) saying why not (`caller`)."""
        return (await self.caller(authorization)).key

    async def caller(self, authorization: str | None) -> "Caller":
        """Return the caller of the header's accepted token; raise NotServed(401) saying why not.

        Its `key` names the caller without its secret: a digest of the static token, or of a
        JWT's subject (of the token itself when it has none), so the rate counts each apart. Its
        `claims` are a JWT's verified claims (None for the static token, which is no person).
        """
        if not self._auth.configured:
            return Caller(None)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotServed(401, "a bearer token is required")
        token = token.strip()
        if self._auth.token and hmac.compare_digest(token.encode(), self._auth.token.encode()):
            return Caller(f"token {_digest(token)}")
        if not self._auth.jwks_url:
            raise NotServed(401, "the token is not accepted")
        claims, kid = await self._check_jwt(token)
        subject = claims.get("sub")
        if isinstance(subject, str) and subject:
            return Caller(f"subject {_digest(subject)}", claims, kid)
        return Caller(f"jwt {_digest(token)}", claims, kid)

    async def _check_jwt(self, token: str) -> tuple[dict[str, Any], str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotServed(401, "the token is neither the static token nor a JWT") from None
        if header.get("alg") not in self._auth.algorithms:  # `none`, HS256 with a public key...
            raise NotServed(401, f"the token's algorithm {header.get('alg')!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self._auth.algorithms),
                audience=self._auth.audience,
                issuer=self._auth.issuer,
                leeway=self._auth.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise NotServed(401, "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise NotServed(401, "the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise NotServed(401, "the token is from another issuer") from None
        except jwt.PyJWTError as err:
            raise NotServed(401, f"the token is not valid ({type(err).__name__})") from None
        return claims, str(header.get("kid", ""))

    async def _key(self, kid: str) -> Any:
        now = time.monotonic()
        stale = now - self._fetched > JWKS_TTL
        if stale or (kid not in self._keys and now - self._fetched > JWKS_REFRESH_GAP):
            await self._fetch(now)
        if kid not in self._keys:
            if len(self._keys) == 1 and not kid:  # a provider with one key may omit `kid`
                return next(iter(self._keys.values()))
            raise NotServed(401, "the token is signed by a key the provider does not publish")
        return self._keys[kid]

    async def _fetch(self, now: float) -> None:
        assert self._auth.jwks_url is not None
        try:
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self._auth.jwks_url) as response:
                    response.raise_for_status()
                    data = await response.json(content_type=None)
            keys = jwt.PyJWKSet.from_dict(data).keys
        except (aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWTError) as err:
            if self._keys:  # keep serving with the keys we had; try again after the gap
                self._fetched = now - JWKS_TTL + JWKS_REFRESH_GAP
                return
            raise NotServed(503, f"cannot read the provider's keys ({type(err).__name__})") from None
        self._keys = {
            str(k.key_id or ""): k.key
            for k in keys
            if k.algorithm_name in self._auth.algorithms or not k.algorithm_name
        }
        self._fetched = now
