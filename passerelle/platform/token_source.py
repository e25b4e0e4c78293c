"""The operator's access token: read from `passerelle login`'s cache, refreshed before it ends.

A public client's refresh token is single-use, and this provider (like most) takes a used one
presented again as theft and revokes the whole grant (tests/oidc/test_device_flow.py): two
`passerelle` processes refreshing from one cache at the same moment would log the operator out.
So a refresh happens only under an exclusive lock on a file beside the cache (`cache_lock`), and
the holder reads the cache again first: when another process refreshed while it waited, it takes
those tokens as they are. Reading needs no lock: the cache is replaced in one rename.
"""

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from passerelle.platform.login_settings import LoginSettings
from passerelle.platform.oidc_device import (
    DeviceFlowClient,
    DeviceFlowError,
    Tokens,
    load_tokens,
    save_tokens,
)

# Refresh when less than this is left, so that a token sent now is still valid when the server
# checks it, and a command's few calls all go out with one token.
REFRESH_MARGIN = 60.0
# A refresh is one HTTP round trip: a lock held this long belongs to a process that is stuck.
LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.05  # seconds between attempts while another process holds the lock
HTTP_TIMEOUT = 30.0


class LoginError(Exception):
    """No usable login; the message is one line and says what to do."""


def _lock_path(cache: Path) -> Path:
    return cache.with_name(cache.name + ".lock")


@contextlib.asynccontextmanager
async def cache_lock(cache: Path) -> AsyncIterator[None]:
    """Hold the exclusive lock of `cache` (across processes) for the block.

    A non-blocking attempt, retried, rather than a blocking `flock` in a thread: the event loop
    keeps running and a cancelled wait leaves no thread behind to take the lock later.
    """
    path = _lock_path(cache)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LoginError(
                        f"another passerelle process has held {path} for over {LOCK_TIMEOUT:.0f} s: try again"
                    ) from None
                await asyncio.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def read_cache(login: LoginSettings) -> Tokens | None:
    """Return the cached tokens of `login`'s provider, or None; refuse a cache others can read."""
    try:
        return load_tokens(login.cache_path())
    except PermissionError as err:
        raise LoginError(str(err)) from None


class TokenSource:
    """Hands out the cached access token, refreshing it under the cache's lock when it is about
    to end. One per process is enough; it keeps the current token in memory between calls."""

    def __init__(self, login: LoginSettings, margin: float = REFRESH_MARGIN) -> None:
        self._login = login
        self._path = login.cache_path()
        self._margin = margin
        self._tokens: Tokens | None = None

    def _fresh(self, tokens: Tokens) -> bool:
        return tokens.expires_at - time.time() > self._margin

    def _read(self) -> Tokens:
        tokens = read_cache(self._login)
        if tokens is None:
            raise LoginError(f"not logged in to {self._login.issuer}: run passerelle login")
        return tokens

    async def current_token(self) -> str:
        """Return an access token with more than the margin left, refreshing it if needed."""
        tokens = self._tokens if self._tokens is not None else self._read()
        if not self._fresh(tokens):
            async with cache_lock(self._path):
                tokens = self._read()  # another process may have refreshed while this one waited
                if not self._fresh(tokens):
                    tokens = await self._refresh(tokens)
                    save_tokens(self._path, tokens)
        self._tokens = tokens
        return tokens.access_token

    async def _refresh(self, tokens: Tokens) -> Tokens:
        if tokens.refresh_token is None:
            if tokens.expires_at > time.time():
                return tokens  # nothing to refresh with: use it while it lasts
            raise LoginError(
                "your login has expired (the provider gave no refresh token): run passerelle login"
            )
        issuer = self._login.issuer
        assert issuer is not None  # cache_path() refused a login without one
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                client = DeviceFlowClient(issuer, self._login.client_id, http, scope=self._login.scopes)
                return await client.refresh(tokens.refresh_token)
        except DeviceFlowError as err:
            raise LoginError(f"your login has ended ({err}): run passerelle login") from None
        except httpx.HTTPError as err:
            raise LoginError(
                f"cannot reach the OpenID provider at {issuer} to refresh your login ({err})"
            ) from None
