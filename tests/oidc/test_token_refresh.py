"""The token source refreshes a login once, whoever asks at the same moment, so the grant survives.

The provider revokes the whole grant when a used refresh token comes back
(test_device_flow.py::test_refresh_rotates_the_refresh_token): without the cache's lock, two
`passerelle` processes refreshing together would log the operator out.
"""

import asyncio
import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passerelle.platform.login_settings import LoginSettings
from passerelle.platform.oidc_device import DeviceFlowClient, Tokens, load_tokens, save_tokens
from passerelle.platform.token_source import LoginError, TokenSource
from tests.oidc.logins import CLIENT, device_login, login_settings_for
from tests.oidc.server import Provider, oidc_provider

PROCESSES = 4
# One `passerelle` command: it says when it is ready, waits for the word, then asks for a token.
COMMAND = """
import asyncio, sys
from pathlib import Path
from passerelle.platform.login_settings import LoginSettings
from passerelle.platform.token_source import TokenSource
source = TokenSource(LoginSettings(issuer=sys.argv[1], client_id=sys.argv[2], config_dir=Path(sys.argv[3])))
print("ready", flush=True)
sys.stdin.readline()
print(asyncio.run(source.current_token()), flush=True)
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


async def stale_login(provider: Provider, config_dir: Path) -> tuple[LoginSettings, Tokens]:
    """Log in, and cache the tokens as if their end were 10 s away: the next use refreshes."""
    login = login_settings_for(provider, config_dir)
    tokens = await device_login(provider, "anne")
    save_tokens(login.cache_path(), dataclasses.replace(tokens, expires_at=time.time() + 10))
    return login, tokens


async def still_refreshes(provider: Provider, login: LoginSettings) -> None:
    """Fail unless the grant is alive: the cached refresh token is accepted."""
    cached = load_tokens(login.cache_path())
    assert cached is not None and cached.refresh_token is not None
    async with httpx.AsyncClient() as http:
        await DeviceFlowClient(provider.issuer, CLIENT, http).refresh(cached.refresh_token)


def test_concurrent_processes_refresh_once(provider: Provider, tmp_path: Path) -> None:
    login, before = asyncio.run(stale_login(provider, tmp_path))
    commands = [
        subprocess.Popen(
            [sys.executable, "-c", COMMAND, provider.issuer, CLIENT, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for command in commands:  # every one has imported what it needs and waits
        assert command.stdout is not None and command.stdout.readline() == "ready\n"
    for command in commands:  # then all ask at once
        assert command.stdin is not None
        command.stdin.write("go\n")
        command.stdin.flush()
    answers = [command.communicate(timeout=30) for command in commands]

    assert [(c.returncode, err) for c, (_, err) in zip(commands, answers, strict=True)] == [
        (0, "")
    ] * PROCESSES
    tokens = {out.strip() for out, _ in answers}
    assert len(tokens) == 1, "one process refreshed, the others read its tokens after the lock"
    assert tokens != {before.access_token}
    cached = load_tokens(login.cache_path())
    assert cached is not None and tokens == {cached.access_token}
    asyncio.run(still_refreshes(provider, login))


async def test_concurrent_tasks_refresh_once(provider: Provider, tmp_path: Path) -> None:
    login, before = await stale_login(provider, tmp_path)
    tokens = await asyncio.gather(*(TokenSource(login).current_token() for _ in range(PROCESSES)))
    assert len(set(tokens)) == 1 and tokens[0] != before.access_token
    await still_refreshes(provider, login)


async def test_a_fresh_token_is_used_as_it_is(provider: Provider, tmp_path: Path) -> None:
    login = login_settings_for(provider, tmp_path)
    tokens = await device_login(provider, "claire")
    save_tokens(login.cache_path(), tokens)
    assert await TokenSource(login).current_token() == tokens.access_token


async def test_an_ended_login_says_to_log_in_again(provider: Provider, tmp_path: Path) -> None:
    login, before = await stale_login(provider, tmp_path)
    assert before.refresh_token is not None
    async with httpx.AsyncClient() as http:
        assert await DeviceFlowClient(provider.issuer, CLIENT, http).revoke(before.refresh_token)
    with pytest.raises(LoginError) as ended:
        await TokenSource(login).current_token()
    assert str(ended.value).startswith("your login has ended (invalid_grant")
    assert str(ended.value).endswith("): run passerelle login")


async def test_no_login_says_to_log_in(provider: Provider, tmp_path: Path) -> None:
    with pytest.raises(LoginError) as missing:
        await TokenSource(login_settings_for(provider, tmp_path)).current_token()
    assert str(missing.value) == f"not logged in to {provider.issuer}: run passerelle login"
