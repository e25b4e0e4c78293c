"""`passerelle login`, `whoami` and `logout`, run as the operator runs them, against the suite's provider."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passerelle.devstack.user_step import complete_device_login
from passerelle.platform.oidc_device import DeviceFlowClient, DeviceFlowError, load_tokens
from tests.oidc.logins import CLIENT, login_settings_for
from tests.oidc.server import Provider, oidc_provider

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


def operator_env(provider: Provider, home: Path) -> dict[str, str]:
    """The environment of an operator of `provider` whose home folder is `home`."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PASSERELLE_OIDC_ISSUER": provider.issuer,
        "PASSERELLE_OIDC_POLL_SECONDS": "0.1",
    }


def passerelle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PASSERELLE, *args], env=env, capture_output=True, text=True, timeout=60)


def run_login(env: dict[str, str], account: str) -> str:
    """Run `passerelle login`, sign in as `account` where and with the code it prints; return its output."""
    process = subprocess.Popen(
        [PASSERELLE, "login"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    where, code = process.stdout.readline(), process.stdout.readline()
    assert where.startswith("Open http") and code.startswith("and enter the code "), (where, code)
    uri, user_code = where.split()[-1], code.split()[-1]
    # What a person does: open the printed address and type the printed code.
    assert complete_device_login(f"{uri}?user_code={user_code}", account) == "Sign-in Success"
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return where + code + out


def test_login_whoami_logout(provider: Provider, tmp_path: Path) -> None:
    env = operator_env(provider, tmp_path)
    out = run_login(env, "anne")
    cache = login_settings_for(provider, tmp_path / "config" / "passerelle").cache_path()
    assert out.splitlines()[-1] == f"logged in as anne@coalition-next.example (tokens in {cache})"
    assert cache.stat().st_mode & 0o777 == 0o600
    tokens = load_tokens(cache)
    assert tokens is not None and tokens.refresh_token

    shown = passerelle(env, "whoami")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:4] == [
        "email    anne@coalition-next.example",
        "subject  anne",
        f"issuer   {provider.issuer}",
        "roles    coalition-next:operator",
    ]
    assert lines[4].startswith("expires  ") and "(in 4 min" in lines[4]
    assert "without verifying" in lines[5]

    gone = passerelle(env, "logout")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == "logged out: tokens deleted and revoked at the provider"
    assert not cache.exists()

    async def refresh() -> None:
        async with httpx.AsyncClient() as http:
            assert tokens.refresh_token is not None
            await DeviceFlowClient(provider.issuer, CLIENT, http).refresh(tokens.refresh_token)

    with pytest.raises(DeviceFlowError) as refused:  # the copy someone may have kept is dead too
        asyncio.run(refresh())
    assert refused.value.error == "invalid_grant"

    after = passerelle(env, "whoami")
    assert (after.returncode, after.stdout, after.stderr) == (
        1,
        "",
        "error: not logged in: run passerelle login\n",
    )


def test_whoami_without_an_issuer_says_which_variable(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = passerelle(env, "whoami")
    assert done.returncode == 1
    assert done.stderr == "error: PASSERELLE_OIDC_ISSUER is not set: which provider do you log in with?\n"


def test_a_refused_login_is_one_line(provider: Provider, tmp_path: Path) -> None:
    env = operator_env(provider, tmp_path)
    process = subprocess.Popen(
        [PASSERELLE, "login"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    uri, code = process.stdout.readline().split()[-1], process.stdout.readline().split()[-1]
    complete_device_login(f"{uri}?user_code={code}", "anne", abort=True)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.startswith(f"error: login refused by {provider.issuer}: access_denied")
    assert len(err.splitlines()) == 1


def test_the_login_commands_import_no_temporal_sdk(tmp_path: Path) -> None:
    """A login is a few HTTP requests: it pays for neither the SDK nor the web servers."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PASSERELLE_OIDC_ISSUER": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", PASSERELLE, "whoami"], env=env, capture_output=True, text=True
    )
    assert done.stderr.endswith("error: not logged in: run passerelle login\n")
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "passerelle.cli.login" in modules
    assert sorted(m for m in modules if m.split(".")[0] in ("temporalio", "aiohttp", "jwt", "google")) == []
