"""The client side of the OAuth 2.0 Device Authorization Grant (RFC 8628), for `passerelle login`.

A draft (docs/identity.md): it asks the provider for a device code, shows the user where to enter
it, polls the token endpoint until the user has signed in, and refreshes the tokens afterwards.
httpx does the HTTP: the grant is three form posts, too small to add a client library for.

Polling follows RFC 8628 section 3.5: `authorization_pending` waits `interval` seconds (5 when the
provider names none), `slow_down` adds 5 seconds to it for good, any other error ends the flow.
"""

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # RFC 8628 section 3.2: the interval when the provider sends none
SLOW_DOWN_STEP = 5.0  # RFC 8628 section 3.5: what `slow_down` adds to the interval


class DeviceFlowError(Exception):
    """The provider refused or ended the flow; `error` is its OAuth error code."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Endpoints:
    """What the client needs of the provider's discovery document."""

    issuer: str
    device_authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None = None


@dataclass(frozen=True)
class DeviceAuthorization:
    """The provider's answer to the device request: what the user enters, and where."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float  # time.time() after which the code is no longer accepted
    interval: float


@dataclass(frozen=True)
class Tokens:
    """A token response, with the access token's end as an absolute time."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str = ""
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret


def _tokens(body: dict[str, Any], now: float, previous_refresh: str | None = None) -> Tokens:
    return Tokens(
        access_token=str(body["access_token"]),
        expires_at=now + float(body.get("expires_in", 0)),
        # A provider that does not rotate refresh tokens sends none back: keep the one used.
        refresh_token=body.get("refresh_token") or previous_refresh,
        id_token=body.get("id_token"),
        scope=str(body.get("scope", "")),
        token_type=str(body.get("token_type", "Bearer")),
    )


def _error(response: httpx.Response) -> DeviceFlowError:
    try:
        body = response.json()
    except ValueError:
        return DeviceFlowError("http_error", f"HTTP {response.status_code}")
    if not isinstance(body, dict):
        return DeviceFlowError("http_error", f"HTTP {response.status_code}")
    return DeviceFlowError(str(body.get("error", "http_error")), str(body.get("error_description", "")))


class DeviceFlowClient:
    """A public client (no secret) of one provider, speaking the device grant and refresh."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        http: httpx.AsyncClient,
        scope: str = "openid email roles offline_access",
        resource: str | None = None,
        default_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._http = http
        self._scope = scope
        self._resource = resource
        self._default_interval = default_interval
        self._endpoints: Endpoints | None = None

    async def endpoints(self) -> Endpoints:
        """Read the discovery document once; refuse one that names another issuer."""
        if self._endpoints is None:
            response = await self._http.get(f"{self._issuer}/.well-known/openid-configuration")
            response.raise_for_status()
            doc = response.json()
            if str(doc.get("issuer", "")).rstrip("/") != self._issuer:
                raise DeviceFlowError("invalid_issuer", f"the provider says it is {doc.get('issuer')!r}")
            if "device_authorization_endpoint" not in doc:
                raise DeviceFlowError("unsupported", "the provider offers no device authorization")
            self._endpoints = Endpoints(
                issuer=str(doc["issuer"]),
                device_authorization_endpoint=str(doc["device_authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                revocation_endpoint=doc.get("revocation_endpoint"),
            )
        return self._endpoints

    def _form(self, **fields: str) -> dict[str, str]:
        form = {"client_id": self._client_id, **fields}
        if self._resource:
            form["resource"] = self._resource
        return form

    async def start(self) -> DeviceAuthorization:
        """Ask for a device code (RFC 8628 section 3.1)."""
        endpoints = await self.endpoints()
        now = time.time()
        response = await self._http.post(
            endpoints.device_authorization_endpoint, data=self._form(scope=self._scope)
        )
        if response.status_code != 200:
            raise _error(response)
        body = response.json()
        return DeviceAuthorization(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_at=now + float(body["expires_in"]),
            interval=float(body.get("interval", self._default_interval)),
        )

    async def poll(
        self,
        authorization: DeviceAuthorization,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Tokens:
        """Poll the token endpoint until the user has answered (RFC 8628 section 3.4)."""
        endpoints = await self.endpoints()
        interval = authorization.interval
        while True:
            await sleep(interval)
            if time.time() > authorization.expires_at:
                raise DeviceFlowError("expired_token", "the code expired before the user signed in")
            now = time.time()
            response = await self._http.post(
                endpoints.token_endpoint,
                data=self._form(grant_type=DEVICE_GRANT, device_code=authorization.device_code),
            )
            if response.status_code == 200:
                return _tokens(response.json(), now)
            error = _error(response)
            if error.error == "authorization_pending":
                continue
            if error.error == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            raise error

    async def refresh(self, refresh_token: str) -> Tokens:
        """Exchange a refresh token for new tokens; a rotated refresh token replaces the old one."""
        endpoints = await self.endpoints()
        now = time.time()
        response = await self._http.post(
            endpoints.token_endpoint,
            data=self._form(grant_type="refresh_token", refresh_token=refresh_token),
        )
        if response.status_code != 200:
            raise _error(response)
        return _tokens(response.json(), now, previous_refresh=refresh_token)

    async def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token (RFC 7009), which ends its grant; False when the provider offers
        no revocation endpoint."""
        endpoints = await self.endpoints()
        if endpoints.revocation_endpoint is None:
            return False
        response = await self._http.post(
            endpoints.revocation_endpoint,
            data={"client_id": self._client_id, "token": refresh_token, "token_type_hint": "refresh_token"},
        )
        if response.status_code != 200:  # RFC 7009 section 2.2: 200 even for an unknown token
            raise _error(response)
        return True


def save_tokens(path: Path, tokens: Tokens) -> None:
    """Write the tokens readable by their owner only: created 0600, never widened by the umask."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(asdict(tokens), file)
    os.chmod(temporary, 0o600)  # an older file of that name may have had wider rights
    os.replace(temporary, path)


def load_tokens(path: Path) -> Tokens | None:
    """Read cached tokens; refuse a file others can read (its tokens may have been copied)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others: remove it and run `passerelle login` again")
    return Tokens(**json.loads(path.read_text()))
