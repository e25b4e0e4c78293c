"""`passerelle setup`: the one-off provisioning step of a deployment (docker-compose `setup`):
the search attributes, then the daily digest Schedule."""

import asyncio
import os

import typer
from temporalio.service import RPCError

from passerelle.cli.common import CliError
from passerelle.platform.client import client_for
from passerelle.platform.logs import configure_logging
from passerelle.platform.provision import ensure_search_attributes
from passerelle.platform.schedules import apply_schedules
from passerelle.platform.settings import load_settings


async def _setup() -> None:
    settings = load_settings()
    client = await client_for(settings)
    try:
        added = await ensure_search_attributes(client)
    except RPCError as err:
        raise CliError(
            f"cannot register search attributes in {client.namespace}: {err.message} "
            "(on Temporal Cloud create them with tcld or the Cloud UI; see docs/deployment.md)"
        ) from None
    typer.echo(
        f"search attributes in {client.namespace}: "
        + (f"registered {', '.join(added)}" if added else "all present")
    )
    for schedule_id, outcome in (
        await apply_schedules(client, os.environ, settings.task_queue, settings.retention_days)
    ).items():
        typer.echo(f"schedule {schedule_id} {outcome}")


def setup() -> None:
    """Register the search attributes and apply the digest Schedule (idempotent; once per deployment)."""
    configure_logging()
    asyncio.run(_setup())


def register(app: typer.Typer) -> None:
    """Add the deployment commands to the app."""
    app.command()(setup)
