"""Commands that run Passerelle itself: `dev` (the embedded stack), `worker`, `migrate`."""

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import Client

from passerelle.config import Settings, load_settings
from passerelle.db import migrate
from passerelle.devstack import TemporalDevServer, embedded_postgres
from passerelle.logs import configure_logging
from passerelle.schedules import DIGEST_SCHEDULE_ID, apply_schedules

StateDir = Annotated[
    Path | None, typer.Option(help="State folder (default: $PASSERELLE_STATE_DIR or .passerelle)")
]


@contextlib.contextmanager
def database_url(state_dir: Path | None) -> Iterator[str]:
    """Yield PASSERELLE_DATABASE_URL, or the embedded PostgreSQL's URL when it is unset."""
    settings = load_settings()
    if settings.database_url:
        yield settings.database_url
    else:
        with embedded_postgres(state_dir or settings.state_dir) as url:
            yield url


def dev(
    state_dir: StateDir = None,
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    ip: Annotated[str, typer.Option(help="Address the Temporal server binds")] = "127.0.0.1",
) -> None:
    """Run the whole stack in the foreground: Temporal + Web UI, PostgreSQL, migrations, worker."""
    from worker import run_worker

    configure_logging()
    settings = load_settings()
    folder = state_dir or settings.state_dir
    server = TemporalDevServer(folder, ip=ip, port=port, ui_port=ui_port, namespace=settings.namespace)
    with server, database_url(folder) as url:

        async def main() -> None:
            client = await server.connect()
            digest = await apply_schedules(client, os.environ, settings.task_queue)

            def banner() -> None:
                typer.secho("Passerelle dev stack is running", fg="green", bold=True)
                typer.echo(f"  Web UI:           http://localhost:{ui_port}")
                typer.echo(f"  Temporal address: {server.address} (namespace {server.namespace})")
                typer.echo(f"  Database:         {url}")
                typer.echo(f"  State folder:     {folder.resolve()}")
                typer.echo(f"  Daily digest:     schedule {DIGEST_SCHEDULE_ID} {digest}")
                typer.echo("  Ctrl-C stops everything.")

            temporal = {"target_host": server.address, "namespace": server.namespace}
            ui_url = f"http://localhost:{ui_port}"
            await run_worker(
                replace(settings, database_url=url, temporal=temporal, ui_url=ui_url), on_ready=banner
            )

        asyncio.run(main())
    typer.echo("Passerelle dev stack stopped.")


def worker() -> None:
    """Run a worker against TEMPORAL_ADDRESS and PASSERELLE_DATABASE_URL."""
    from worker import run_worker

    configure_logging()
    asyncio.run(run_worker(load_settings()))


def migrate_command(state_dir: StateDir = None) -> None:
    """Apply the database migrations not yet applied."""
    configure_logging()
    with database_url(state_dir) as url:
        applied = asyncio.run(migrate(url))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


schedules = typer.Typer(help="Temporal Schedules (the daily digest).", no_args_is_help=True)


@schedules.command("apply")
def schedules_apply() -> None:
    """Create or update the daily digest Schedule (idempotent)."""
    from passerelle.cli.common import run

    async def go(settings: Settings, client: Client) -> str:
        return await apply_schedules(client, os.environ, settings.task_queue)

    typer.echo(f"schedule {DIGEST_SCHEDULE_ID} {run(go)}")


def register(app: typer.Typer) -> None:
    """Add the stack commands to the app."""
    app.add_typer(schedules, name="schedules")
    app.command()(dev)
    app.command()(worker)
    app.command("migrate")(migrate_command)
