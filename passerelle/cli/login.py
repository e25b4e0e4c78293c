"""`passerelle login`, `whoami` and `logout`: the operator's OpenID Connect login.

`login` runs the device authorization grant (RFC 8628, `passerelle.platform.oidc_device`) with
`PASSERELLE_OIDC_ISSUER`, and keeps the tokens owner-only in the user's configuration folder
(`passerelle.platform.login_settings`); `passerelle` commands then send the access token to the
codec server (`PASSERELLE_CODEC_URL`), refreshing it as needed (`token_source`). None of the three
imports the Temporal SDK (nor `passerelle.cli.base`, which does): their errors are `SystemExit`
messages, which `passerelle.cli.main` prints as one line, like a `CliError`.
"""

import asyncio
import base64
import binascii
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import typer

from passerelle.platform.login_settings import LoginSettings, login_settings
from passerelle.platform.oidc_device import (
    DEFAULT_INTERVAL,
    DeviceFlowClient,
    DeviceFlowError,
    Tokens,
    save_tokens,
)
from passerelle.platform.token_source import HTTP_TIMEOUT, cache_lock, read_cache

NOT_LOGGED_IN = "not logged in: run passerelle login"


def _settings() -> LoginSettings:
    settings = login_settings(os.environ)
    if settings.issuer is None:
        raise SystemExit("PASSERELLE_OIDC_ISSUER is not set: which provider do you log in with?")
    return settings


def _client(settings: LoginSettings, http: httpx.AsyncClient) -> DeviceFlowClient:
    assert settings.issuer is not None
    interval = settings.poll_seconds or DEFAULT_INTERVAL
    return DeviceFlowClient(
        settings.issuer, settings.client_id, http, settings.scopes, default_interval=interval
    )


def _show(line: str) -> None:
    typer.echo(line)
    sys.stdout.flush()  # the person waits on these lines: a pipe must not hold them back


async def _login(settings: LoginSettings) -> Tokens:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = _client(settings, http)
        started = await client.start()
        _show(f"Open {started.verification_uri}")
        _show(f"and enter the code {started.user_code}")
        if started.verification_uri_complete:
            _show(f"(or open {started.verification_uri_complete} directly)")
        _show("Waiting for you to sign in…")
        tokens = await client.poll(started)
    path = settings.cache_path()
    async with cache_lock(path):  # not while a `passerelle` refreshes the login this one replaces
        save_tokens(path, tokens)
    return tokens


def login() -> None:
    """Sign in with the OpenID provider (PASSERELLE_OIDC_ISSUER) and keep the tokens owner-only.

    Prints where to sign in and the code to enter, then waits until you have. The tokens are kept
    in ~/.config/passerelle/logins/ (or $XDG_CONFIG_HOME/passerelle/logins/), readable by you only.
    """
    settings = _settings()
    try:
        tokens = asyncio.run(_login(settings))
    except DeviceFlowError as err:
        raise SystemExit(f"login refused by {settings.issuer}: {err}") from None
    except httpx.HTTPError as err:
        raise SystemExit(f"cannot reach the OpenID provider at {settings.issuer} ({err})") from None
    claims = unverified_claims(tokens.access_token)
    who = claims.get("email") or claims.get("sub") or "?"
    _show(f"logged in as {who} (tokens in {settings.cache_path()})")


def unverified_claims(token: str) -> dict[str, Any]:
    """Return a JWT's claims WITHOUT checking its signature: for showing them, never for trusting
    them (the codec server checks the token; an opaque token shows no claims)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _claim(claims: dict[str, Any], dotted: str) -> Any:
    value: Any = claims
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _roles(claims: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in names:
        value = _claim(claims, name)
        if isinstance(value, list):
            found += [v for v in value if isinstance(v, str) and v not in found]
    return found


def _expiry(expires_at: float, now: float) -> str:
    at = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")
    left = int(expires_at - now)
    if left <= 0:
        return f"{at} (expired; the next command refreshes it)"
    return f"{at} (in {left // 60} min {left % 60} s)"


def whoami() -> None:
    """Show who you are logged in as, read from the cached access token without verifying it."""
    settings = _settings()
    tokens = read_cache(settings)
    if tokens is None:
        raise SystemExit(NOT_LOGGED_IN)
    claims = unverified_claims(tokens.access_token)
    roles = _roles(claims, settings.roles_claims)
    typer.echo(f"email    {claims.get('email', '-')}")
    typer.echo(f"subject  {claims.get('sub', '-')}")
    typer.echo(f"issuer   {claims.get('iss', settings.issuer)}")
    typer.echo(f"roles    {', '.join(roles) if roles else '-'}")
    typer.echo(f"expires  {_expiry(tokens.expires_at, time.time())}")
    typer.echo("(read from the cached access token without verifying it: the codec server verifies it)")


async def _logout(settings: LoginSettings) -> str:
    path = settings.cache_path()
    async with cache_lock(path):
        tokens = read_cache(settings)
        if tokens is None:
            return NOT_LOGGED_IN
        note = ""
        if tokens.refresh_token:
            try:
                async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                    revoked = await _client(settings, http).revoke(tokens.refresh_token)
                note = " and revoked at the provider" if revoked else " (the provider offers no revocation)"
            except (DeviceFlowError, httpx.HTTPError) as err:
                note = f" (not revoked at the provider: {err})"
        path.unlink()
    return f"logged out: tokens deleted{note}"


def logout() -> None:
    """Delete the cached tokens, and revoke the login at the provider when it allows it."""
    typer.echo(asyncio.run(_logout(_settings())))


def register(app: typer.Typer) -> None:
    """Add login, whoami and logout to the app."""
    app.command("login")(login)
    app.command("whoami")(whoami)
    app.command("logout")(logout)
