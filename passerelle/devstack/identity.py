"""The dev stack's identity provider: a real OpenID provider on this machine, and its operator.

`passerelle dev` (and the test suite) run the certified `oidc-provider` (npm, pinned in
`passerelle/devstack/oidc/package-lock.json`) with the settings of `provider.mjs`: device flow,
refresh tokens, JWT access tokens for the audience `passerelle` carrying `email` and the roles
under `groups`, and a development login that takes any password. Node.js (20.19 or later) and npm
must be on PATH; the packages are installed with `npm ci` into a folder of the caller's (the
state folder's `oidc/`, the suite's own), once, under a file lock.

The local operator signs in through the device flow like anyone (`sign_in`): the stack plays
the browser's part with the development login (`passerelle.devstack.user_step`), so the token it
keeps is a real one, checked by the codec server against the provider's keys.
"""

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import jwt

from passerelle.devstack.user_step import complete_device_login
from passerelle.platform.keys import parse_keys
from passerelle.platform.login_settings import DEV_IDENTITY_FILE, LoginSettings
from passerelle.platform.oidc_device import DeviceFlowClient, Tokens, save_tokens
from passerelle.platform.settings import DEV_VOUCHING_KEY_FILE, Settings
from passerelle.platform.token_source import read_cache

SOURCES = ("provider.mjs", "package.json", "package-lock.json")
START_TIMEOUT = 20.0
AUDIENCE = "passerelle"  # what the provider's access tokens are for (`provider.mjs`)
CLIENT_ID = "passerelle-cli"

# The dev stack's one account: an admin of every programme, so that whatever a developer starts
# they may steer (`*:admin`, docs/identity.md, "Roles"). Its address is the operator's of the
# README's and docs/operators.md's examples, so their commands work as written.
DEV_ACCOUNT = "operator"
# The others stand for the second persons of the docs' examples (docs/playbooks.md): an approver
# and two evaluators of every programme, for `passerelle login` as one of them.
DEV_ACCOUNTS = {
    DEV_ACCOUNT: {"email": "ops@programme.example", "roles": ["*:admin"]},
    "claire": {"email": "claire.martin@coalition-next.example", "roles": ["*:approver"]},
    "eva": {"email": "eva@coalition-next.example", "roles": ["*:evaluator"]},
    "bob": {"email": "bob@coalition-next.example", "roles": ["*:evaluator"]},
    # One operator per programme of the dev stack's own namespaces, and a sponsor of one group:
    # `passerelle login` as one of them shows what a programme's people see (docs/operators.md).
    "lea": {"email": "lea@frenchtech.example", "roles": ["french-tech-corporate-community:operator"]},
    "nora": {"email": "nora@coalition-next.example", "roles": ["coalition-next:operator"]},
    "sam": {
        "email": "sam@novartis.example",
        "roles": ["coalition-next:sponsor"],
        "organisation": "Novartis",
    },
}


class IdentityUnavailable(RuntimeError):
    """The provider cannot be installed or started here (the message says what is missing)."""


def install(folder: Path) -> Path:
    """Put the provider in `folder` and its packages under it (`npm ci`) unless they are there
    already; return the folder."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise IdentityUnavailable("the identity provider needs Node.js 20.19+ and npm on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        changed = False
        for name in SOURCES:
            source = (files("passerelle.devstack") / "oidc" / name).read_bytes()
            target = folder / name
            if not target.exists() or target.read_bytes() != source:
                target.write_bytes(source)
                changed = True
        installed = folder / "node_modules" / ".package-lock.json"
        if changed or not installed.exists():
            try:
                subprocess.run(  # noqa: S603 - npm itself, on the pinned lock file
                    [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=folder,
                    check=True,
                    timeout=300,
                    capture_output=True,
                    text=True,
                )
            except subprocess.CalledProcessError as err:
                raise IdentityUnavailable(f"npm ci failed in {folder}: {err.stderr.strip()[-300:]}") from None
    return folder


@dataclass(frozen=True)
class Provider:
    """A running provider: its issuer, and the keys of its test routes."""

    issuer: str
    process: "subprocess.Popen[str]"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def kids(self) -> list[str]:
        """The published key ids, the signing key first."""
        return list(httpx.get(f"{self.issuer}/_test/keys").json()["kids"])

    def _keys(self, action: str) -> list[str]:
        response = httpx.post(f"{self.issuer}/_test/keys/{action}").raise_for_status()
        return list(response.json()["kids"])

    def add_key(self) -> list[str]:
        """Publish a new key that does not sign yet. Returns the key ids, the signing one first."""
        return self._keys("add")

    def promote_key(self) -> list[str]:
        """Sign with the newest key from now on; keep publishing the others."""
        return self._keys("promote")

    def retire_keys(self) -> list[str]:
        """Stop publishing every key but the signing one."""
        return self._keys("retire")


@contextmanager
def run_provider(folder: Path, port: int = 0, env: Mapping[str, str] | None = None) -> Iterator[Provider]:
    """Run the provider installed in `folder` on `port` (0: a free one) until the block ends."""
    # Its start-up warnings go to a file, read only when it fails to start: a pipe nobody reads
    # could fill up and block it.
    log = tempfile.TemporaryFile("w+")
    node = shutil.which("node")
    if node is None:
        raise IdentityUnavailable("the identity provider needs Node.js 20.19+ on PATH")
    process = subprocess.Popen(  # noqa: S603 - node on the provider script of this package
        [node, str(folder / "provider.mjs"), str(port)],
        cwd=folder,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the provider prints one line once it listens
        if not line:
            process.wait(timeout=5)
            log.seek(0)
            raise IdentityUnavailable(f"the identity provider did not start: {log.read().strip()[-300:]}")
        issuer = str(json.loads(line)["issuer"])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise IdentityUnavailable("the identity provider did not serve its discovery document")
            time.sleep(0.05)
        yield Provider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def sign_in(issuer: str, account: str, poll_seconds: float = 0.1) -> Tokens:
    """Run the device flow as `account`, playing the browser's part; return the tokens."""
    async with httpx.AsyncClient() as http:
        client = DeviceFlowClient(issuer, CLIENT_ID, http, default_interval=poll_seconds)
        started = await client.start()
        if started.verification_uri_complete is None:
            raise IdentityUnavailable("the provider names no verification page to complete")
        polling = asyncio.create_task(client.poll(started))
        await asyncio.to_thread(complete_device_login, started.verification_uri_complete, account)
        return await asyncio.wait_for(polling, 10)


DEV_OIDC_PORT = 8092  # fixed, so that the issuer (and the operator's cached login) outlives a restart


async def sign_in_operator(issuer: str, folder: Path) -> LoginSettings:
    """Sign the dev stack's operator in and keep the tokens in `folder/login` (owner-only);
    return the login settings the stack's codec server and `passerelle` commands read them with."""
    login = LoginSettings(issuer=issuer, client_id=CLIENT_ID, config_dir=folder / "login")
    save_tokens(login.cache_path(), await sign_in(issuer, DEV_ACCOUNT))
    return login


def write_dev_identity(folder: Path, codec_url: str, login: LoginSettings) -> Path:
    """Tell the `passerelle` commands of this state folder to go through the codec server with
    the operator's login (`passerelle.platform.login_settings.dev_identity`)."""
    path = folder / DEV_IDENTITY_FILE
    body = {"codec_url": codec_url, "issuer": login.issuer or "", "config_dir": str(login.config_dir)}
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def operator_of(login: LoginSettings) -> str:
    """Return how the banner names the signed-in operator: e-mail and roles, as the token says."""
    tokens = read_cache(login)
    if tokens is None:
        return "nobody"
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    roles = ", ".join(claims.get("groups") or [])
    return f"{claims.get('email')} ({roles})"


def dev_vouching(settings: Settings, folder: Path) -> Settings:
    """Return the dev stack's settings with a vouching key: PASSERELLE_VOUCHING_KEYS, else the
    state folder's key file, created on first start (owner-only)."""
    key_file = folder / DEV_VOUCHING_KEY_FILE
    if settings.vouching_keys or key_file.exists() or not settings.encryption_keys:
        return settings
    from passerelle.platform.vouching import new_vouching_key

    folder.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(f"dev:{new_vouching_key()}\n")
    return replace(settings, vouching_keys=parse_keys(key_file.read_text(), "PASSERELLE_VOUCHING_KEYS"))


def dev_provider(folder: Path, port: int) -> Any:
    """Return the context of the dev stack's identity provider, installed in the state folder."""
    try:
        installed = install(folder / "oidc")
    except IdentityUnavailable as err:
        raise SystemExit(f"cannot run the identity provider: {err}") from None
    return run_provider(installed, port, {"OIDC_ACCOUNTS": json.dumps(DEV_ACCOUNTS)})


def vouched(settings: Settings, identity: Any, login: Any) -> dict[str, Any]:
    """Return the dev codec server's identity arguments: it checks the provider's tokens, vouches
    with the stack's key, and speaks for the signed-in operator when a request sends no token
    (the dev server's Web UI has no login of its own)."""
    if identity is None or login is None:
        return {}
    from passerelle.platform.codec_auth import CodecAuth
    from passerelle.platform.codec_server import Vouching
    from passerelle.platform.identity import mapping_from
    from passerelle.platform.token_source import TokenSource
    from passerelle.platform.vouching import Signer

    return {
        "auth": CodecAuth(jwks_url=identity.jwks_url, issuer=identity.issuer, audience=AUDIENCE),
        "vouching": Vouching(Signer(settings.vouching_keys), mapping_from(os.environ)),
        "default_token": TokenSource(login).current_token,
    }
