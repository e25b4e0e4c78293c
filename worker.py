"""The Passerelle worker: wiring only.

Builds the Temporal client (pydantic converter), the asyncpg pool, the activity classes with their
dependencies, and runs the worker for task queue `collaborations` until asked to stop. On SIGINT or
SIGTERM it stops polling and lets running activities finish (graceful shutdown).
"""

import asyncio
import signal
from collections.abc import Sequence
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channels import Channel
from activities.channels.log import LogChannel
from activities.digest import DigestActivities
from activities.kpis import KpiActivities
from activities.milestones import MilestoneActivities
from activities.notifications import NotificationActivities
from passerelle.client import connect
from passerelle.config import Settings
from passerelle.db import create_pool, migrate
from passerelle.logs import LogContextInterceptor
from workflows.collaboration import CollaborationWorkflow
from workflows.digest import DigestWorkflow

log = structlog.get_logger()

WORKFLOWS = [CollaborationWorkflow, DigestWorkflow]


def workflow_runner() -> SandboxedWorkflowRunner:
    """Return the sandbox the workflows run in.

    Deterministic, side-effect-free modules are passed through instead of being re-imported for
    every workflow run: the contract (pydantic models, e-mail validation) and the pure rules.
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "pydantic",
            "pydantic_core",
            "annotated_types",
            "email_validator",
            "idna",
            "dns",
            "schemas",
            "workflows.state",
            "workflows.transitions",
            "workflows.notifications",
            "workflows.details",
        )
    )


def build_channels(settings: Settings) -> list[Channel]:
    """Return the notification channels named in the settings."""
    known = {"log": LogChannel}
    unknown = [name for name in settings.channels if name not in known]
    if unknown:
        raise SystemExit(f"PASSERELLE_CHANNELS: unknown channel(s) {unknown}; known: {sorted(known)}")
    return [known[name]() for name in settings.channels]


def build_worker(
    client: Client, pool: asyncpg.Pool, settings: Settings, channels: Sequence[Channel]
) -> Worker:
    """Return a worker with every workflow and activity of Passerelle registered."""
    milestones = MilestoneActivities(pool)
    notifications = NotificationActivities(pool, channels)
    digest = DigestActivities(pool)
    kpis = KpiActivities(pool)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[milestones.record_events, notifications.notify, digest.list_stalled, kpis.kpi_summary],
        interceptors=[LogContextInterceptor()],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Migrate, connect and run the worker until `stop` is set or a signal arrives."""
    if settings.database_url is None:
        raise SystemExit("PASSERELLE_DATABASE_URL is not set (use `passerelle dev` for the embedded stack)")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await migrate(settings.database_url)
    client = await connect(settings.temporal)
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
    try:
        worker = build_worker(client, pool, settings, build_channels(settings))
        async with worker:
            log.info("worker running", task_queue=settings.task_queue, namespace=settings.namespace)
            await stop.wait()
            log.info("worker stopping: letting running activities finish")
    finally:
        await pool.close()
    log.info("worker stopped")
