"""A whole device-flow login against the suite's provider, and the login settings that point at it."""

import asyncio
import socket
from pathlib import Path

import httpx

from passerelle.devstack.user_step import complete_device_login
from passerelle.platform.login_settings import LoginSettings
from passerelle.platform.oidc_device import DeviceFlowClient, Tokens
from tests.oidc.server import Provider

CLIENT = "passerelle-cli"
AUDIENCE = "passerelle"
FAST = 0.1  # the poll interval of the tests: the provider names none, so RFC 8628's 5 s would apply


async def device_login(provider: Provider, account: str) -> Tokens:
    """Sign in as `account` through the device flow; return the tokens the CLI would cache."""
    async with httpx.AsyncClient() as http:
        client = DeviceFlowClient(provider.issuer, CLIENT, http, default_interval=FAST)
        started = await client.start()
        assert started.verification_uri_complete is not None
        polling = asyncio.create_task(client.poll(started))
        await asyncio.to_thread(complete_device_login, started.verification_uri_complete, account)
        return await asyncio.wait_for(polling, 10)


def login_settings_for(provider: Provider, config_dir: Path) -> LoginSettings:
    """The login settings of an operator of `provider` whose configuration folder is `config_dir`."""
    return LoginSettings(issuer=provider.issuer, client_id=CLIENT, poll_seconds=FAST, config_dir=config_dir)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keyless_cli_env(base: dict[str, str], codec_url: str, provider: Provider, home: Path) -> dict[str, str]:
    """Return `base` (a `passerelle` environment) as an operator's laptop has it: no encryption
    key, no database, the codec server at `codec_url`, the login of `provider` kept under `home`."""
    env = {
        k: v for k, v in base.items() if k not in ("PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_DATABASE_URL")
    }
    return env | {
        "PASSERELLE_CODEC_URL": codec_url,
        "PASSERELLE_OIDC_ISSUER": provider.issuer,
        "XDG_CONFIG_HOME": str(home / "config"),
        "PASSERELLE_STATE_DIR": str(home / "state"),  # no dev stack's key file or database
    }
