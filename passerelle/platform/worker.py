"""The Passerelle worker: every workflow and activity, their dependencies and the sandbox.

Builds the Temporal client (`client_for`, with the settings' codec), the asyncpg pool, the
activity classes with their dependencies, and runs the worker for the settings' task queue
(`collaborations` by default) until asked to stop: one SDK worker for the shared namespace and one
for each programme's own namespace (`passerelle.platform.programmes`), which it looks for again
every `PASSERELLE_PROGRAMME_POLL_SECONDS` (60 by default), so a programme added while it runs is
served within that time. On SIGINT or SIGTERM it stops polling and lets
running activities finish (graceful shutdown, up to `PASSERELLE_SHUTDOWN_GRACE_SECONDS`); with
`PASSERELLE_METRICS_PORT` set, the SDK runtime serves Prometheus metrics.
"""

import asyncio
import contextlib
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channels import Channel
from activities.channels.log import LogChannel
from activities.channels.smtp import SmtpChannel
from activities.channels.webhook import WebhookChannel
from activities.data_keys import DataKeyActivities
from activities.digest import DigestActivities
from activities.kpis import KpiActivities
from activities.links import LinkSigner
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from activities.playbooks import PlaybookActivities
from activities.rendering import Renderer
from passerelle.platform.client import client_for, client_in, keyring_for, keys_held_here, local_codec_for
from passerelle.platform.db import create_pool, migrate, redact_url
from passerelle.platform.envelope import EnvelopeCodec
from passerelle.platform.log_context import LogContextInterceptor
from passerelle.platform.provision import programme_namespaces
from passerelle.platform.runtime import build_runtime
from passerelle.platform.sandbox import DirectContextRunner
from passerelle.platform.settings import Settings
from workflows import search_attributes
from workflows.actor_gate import RequireVerifiedActors
from workflows.collaboration import CollaborationWorkflow
from workflows.digest import DigestWorkflow
from workflows.handover import DeliveryWorkflow
from workflows.retention import PrivacyRetentionWorkflow

log = structlog.get_logger()

WORKFLOWS = [CollaborationWorkflow, DeliveryWorkflow, DigestWorkflow, PrivacyRetentionWorkflow]


# What the workflows import passes through the sandbox instead of being re-imported for every
# workflow run: the contract (`schemas`, with pydantic and e-mail validation) and our workflow
# package (`workflows`: the pure domain of `workflows.domain` and the Temporal-facing modules
# beside it). Re-imported per run, every open collaboration would hold its own copy (worker
# memory per collaboration) and pay for it on every start or cache miss (CPU); `bench/scale.py`
# and `bench/lifecycle.py` measure it (docs/benchmarks.md). The same in production and in every
# test, so what the suite runs is what a worker runs. None of these modules keeps module state,
# so runs sharing them cannot see each other; what the sandbox's restrictions would catch at run
# time in them (I/O, a clock, randomness) `tests/unit/test_workflow_purity.py` refuses in the
# source, and the replay tests check the result.
PASSED_THROUGH = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "email_validator",
    "idna",
    "dns",
    "schemas",
    "workflows",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """Return the sandbox the workflows run in (`PASSED_THROUGH`); each payload's serialization
    context is read without entering it (`passerelle.platform.sandbox`)."""
    return DirectContextRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )


def link_signer(settings: Settings) -> LinkSigner | None:
    """Return the partner links' signer, or None when no portal key is set (no links in e-mails)."""
    if not settings.portal_keys:
        return None
    return LinkSigner(settings.portal_keys, settings.portal_url, settings.link_days)


def build_channels(settings: Settings) -> list[Channel]:
    """Return the notification channels named in the settings (`PASSERELLE_CHANNELS`)."""
    known = ("log", "smtp", "webhook")
    unknown = [name for name in settings.channels if name not in known]
    if unknown:
        raise SystemExit(f"PASSERELLE_CHANNELS: unknown channel(s) {unknown}; known: {sorted(known)}")
    renderer = Renderer(settings.ui_url, settings.namespace, link_signer(settings))
    channels: list[Channel] = []
    for name in dict.fromkeys(settings.channels):  # each channel once, in the order given
        if name == "log":
            channels.append(LogChannel())
        elif name == "smtp":
            if settings.smtp is None:
                raise SystemExit("PASSERELLE_CHANNELS names smtp but PASSERELLE_SMTP_HOST is not set")
            channels.append(SmtpChannel(settings.smtp, renderer))
        else:
            if settings.webhook is None:
                raise SystemExit("PASSERELLE_CHANNELS names webhook but PASSERELLE_WEBHOOK_URL is not set")
            channels.append(WebhookChannel(settings.webhook, renderer))
    return channels


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    channels: Sequence[Channel],
) -> Worker:
    """Return a worker with every workflow and activity of Passerelle registered.

    The re-key and retention activities work through the key store the client's codec seals
    with; a client without data keys (no encryption, or master keys only) has no such activities.
    """
    milestones = MilestoneActivities(pool)
    notifications = NotificationActivities(pool, channels, settings.notify_milestones)
    digest = DigestActivities(pool)
    kpis = KpiActivities(pool)
    playbooks = PlaybookActivities(pool)
    activities: list[Callable[..., Any]] = [
        milestones.record_events,
        notifications.deliver,
        notifications.notify,
        digest.list_stalled,
        kpis.kpi_summary,
        playbooks.load_playbook,
    ]
    codec = getattr(client.data_converter.payload_codec, "inner", None)  # under the `ActorCodec`
    if isinstance(codec, EnvelopeCodec):
        keys = DataKeyActivities(pool, codec.store, settings.namespaces.chain_programme)
        activities += [keys.activate_data_key, keys.destroy_data_keys, keys.retention_sweep]
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=activities,
        interceptors=[
            LogContextInterceptor(),
            *([RequireVerifiedActors()] if settings.actors == "verified" else []),
        ],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.shutdown_grace_seconds),
    )


async def check_search_attributes(client: Client) -> None:
    """Refuse to start when Passerelle's search attributes are missing from the namespace.

    Without them every workflow task fails ("search attribute … is not defined") and retries
    forever; better one clear error at start-up, with the commands that fix it.
    """
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    try:
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except Exception as err:  # e.g. no operator permission with a cloud API key
        log.warning("cannot list search attributes; assuming they exist", error=str(err))
        return
    missing = [key for key in search_attributes.ALL if key.name not in known.custom_attributes]
    if missing:
        commands = "\n".join(
            f"  temporal operator search-attribute create --namespace {client.namespace} "
            f"--name {key.name} --type {key.indexed_value_type.name.title()}"
            for key in missing
        )
        namespace = client.namespace
        raise SystemExit(f"search attributes missing in namespace {namespace}; create them:\n{commands}")


async def run_worker(
    settings: Settings, stop: asyncio.Event | None = None, on_ready: Callable[[], None] | None = None
) -> None:
    """Migrate, connect and run the worker until `stop` is set or a signal arrives.

    `on_ready` is called once the worker polls its task queue.
    """
    keys_held_here(settings, "the worker")
    if settings.database_url is None:
        raise SystemExit("PASSERELLE_DATABASE_URL is not set (use `passerelle dev` for the embedded stack)")
    codec = local_codec_for(settings)
    if codec is None and not settings.encryption_off:
        # Production default: collaborations carry contact data and business terms, which must
        # not sit readable in Temporal's history. Running in clear is an explicit choice.
        raise SystemExit(
            "no encryption keys: set PASSERELLE_ENCRYPTION_KEYS (see docs/configuration.md, Encryption), "
            "or PASSERELLE_ENCRYPTION=off to store payloads in clear"
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await migrate(settings.database_url)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        raise SystemExit(
            f"cannot use PostgreSQL at {redact_url(settings.database_url)} "
            f"({type(err).__name__}: {err}); check PASSERELLE_DATABASE_URL and that the server is up"
        ) from None
    await keyring_for(settings).load()  # a role that may not read the vouching keys says so now
    runtime = build_runtime(settings)
    client = await client_for(settings, **({"runtime": runtime} if runtime else {}))
    await check_search_attributes(client)
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
    try:
        async with contextlib.AsyncExitStack() as workers:
            serving = Serving(client, pool, settings, build_channels(settings), workers)
            await serving.add(client)
            await serving.discover()
            log.info(
                "worker running",
                task_queue=settings.task_queue,
                namespaces=sorted(serving.namespaces),
                metrics=settings.metrics_address,
                encryption_key=codec.current_key_id if codec else "off",
            )
            if on_ready is not None:
                on_ready()
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.programme_poll_seconds)
                if not stop.is_set():
                    await serving.discover()
            log.info("worker stopping: letting running activities finish")
    finally:
        await pool.close()
    log.info("worker stopped")


class Serving:
    """The SDK workers of one process: the shared namespace's and each programme's."""

    def __init__(
        self,
        client: Client,
        pool: asyncpg.Pool,
        settings: Settings,
        channels: Sequence[Channel],
        workers: contextlib.AsyncExitStack,
    ) -> None:
        self._client, self._pool, self._settings, self._channels = client, pool, settings, channels
        self._workers = workers
        self.namespaces: set[str] = set()

    async def add(self, client: Client) -> None:
        """Start polling `client`'s namespace."""
        await self._workers.enter_async_context(
            build_worker(client, self._pool, self._settings, self._channels)
        )
        self.namespaces.add(client.namespace)

    async def discover(self) -> None:
        """Serve each programme namespace not served yet; one that lacks its search attributes
        is left for the next look (`passerelle programme add` registers them)."""
        try:
            found = await programme_namespaces(self._client.service_client, self._settings.namespaces)
        except Exception as err:  # Temporal away for a moment: the namespaces served go on
            log.warning("cannot list the programmes' namespaces now", error=str(err))
            return
        for namespace in sorted(set(found) - self.namespaces):
            client = client_in(self._client, namespace)
            try:
                await check_search_attributes(client)
            except SystemExit as err:
                log.error("programme namespace not served", namespace=namespace, reason=str(err))
                continue
            await self.add(client)
            log.info("serving programme namespace", namespace=namespace)
