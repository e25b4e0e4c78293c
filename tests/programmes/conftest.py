"""Two programmes side by side on the suite's real servers, each in a namespace of its own.

An OpenID provider signs in one person per role; the codec server checks their tokens and
vouches; a worker serves both programmes' namespaces, requiring verified actors. Each person's
`passerelle` is an operator's laptop: no key, the codec server, their own login.
"""

import base64
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.platform.client import client_in, local_codec_for
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import Vouching, start_codec_server
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.oidc_device import save_tokens
from passerelle.platform.provision import ensure_search_attributes, register_programme, until_served
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer, new_vouching_key
from passerelle.platform.vouching_keys import register
from passerelle.platform.worker import build_worker
from schemas.actors import programme_slug
from tests.e2e.cli import cli_env
from tests.integration.processes import free_port
from tests.oidc.logins import AUDIENCE, device_login, keyless_cli_env, login_settings_for
from tests.oidc.server import Provider, oidc_provider

TAG = uuid.uuid4().hex[:8]
A, B = f"Iso A {TAG}", f"Iso B {TAG}"
SLUG_A, SLUG_B = programme_slug(A), programme_slug(B)
PEOPLE = {
    "olga": {"email": "olga@a.example", "roles": [f"{SLUG_A}:operator"]},
    "bruno": {"email": "bruno@b.example", "roles": [f"{SLUG_B}:operator"]},
    "nina": {"email": "nina@national.example", "roles": ["*:admin"]},
    "sam": {"email": "sam@lilly.example", "roles": [f"{SLUG_A}:sponsor"], "organisation": "Lilly"},
}


SIGNER = Signer(((f"p{TAG}", base64.b64decode(new_vouching_key())),))


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(PEOPLE)}) as running:
        yield running


@dataclass
class Programmes:
    """The two programmes' namespaces and clients, the codec server, each person's CLI env."""

    namespaces: dict[str, str]  # programme slug: namespace
    clients: dict[str, Client]  # programme slug: a key holder's client in its namespace
    codec_url: str
    envs: dict[str, dict[str, str]]  # person: their `passerelle` environment
    tokens: dict[str, str]  # person: their access token
    address: str

    def raw(self, slug: str) -> Client:
        """A client of the namespace that decodes nothing (what Temporal itself holds)."""
        client = self.clients[slug]
        return Client(client.service_client, namespace=client.namespace)


@pytest.fixture
async def programmes(
    dev_env: WorkflowEnvironment,
    provider: Provider,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> AsyncIterator[Programmes]:
    assert settings.database_url is not None
    namespaces = {slug: settings.namespaces.of(slug) for slug in (SLUG_A, SLUG_B)}
    clients = {}
    for name, (slug, namespace) in zip((A, B), namespaces.items(), strict=True):
        await register_programme(dev_env.client, name, namespace, 1)
        clients[slug] = client_in(dev_env.client, namespace)
        await until_served(clients[slug])
        await ensure_search_attributes(clients[slug])
    signer = SIGNER
    await register(settings.database_url, signer)
    port = free_port()
    auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE)
    runner = await start_codec_server(
        local_codec_for(settings),
        [],
        "127.0.0.1",
        port,
        auth,
        vouching=Vouching(signer, ClaimsMapping()),
        mapping=ClaimsMapping(),
    )
    codec_url = f"http://127.0.0.1:{port}"
    envs, tokens = {}, {}
    for person in PEOPLE:
        home = tmp_path / person
        login = await device_login(provider, person)
        save_tokens(login_settings_for(provider, home / "config" / "passerelle").cache_path(), login)
        envs[person] = keyless_cli_env(cli_env(dev_env, task_queue), codec_url, provider, home)
        tokens[person] = login.access_token
    verified = dataclasses.replace(settings, actors="verified", task_queue=task_queue)
    try:
        async with AsyncExitStack() as workers:
            for client in (dev_env.client, *clients.values()):
                await workers.enter_async_context(build_worker(client, pool, verified, [LogChannel()]))
            address = dev_env.client.service_client.config.target_host
            yield Programmes(namespaces, clients, codec_url, envs, tokens, address)
    finally:
        await runner.cleanup()
