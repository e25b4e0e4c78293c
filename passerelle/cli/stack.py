"""Commands that run Passerelle itself: `dev` (the embedded stack), `worker`, `migrate`."""

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from passerelle.config import load_settings
from passerelle.db import migrate
from passerelle.devstack import TemporalDevServer, embedded_postgres
from passerelle.health import run_checks
from passerelle.logs import configure_logging

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
            await server.connect()
            typer.secho("Passerelle dev stack is running", fg="green", bold=True)
            typer.echo(f"  Web UI:           http://localhost:{ui_port}")
            typer.echo(f"  Temporal address: {server.address} (namespace {server.namespace})")
            typer.echo(f"  Database:         {url}")
            typer.echo(f"  State folder:     {folder.resolve()}")
            typer.echo("  Ctrl-C stops everything.")
            temporal = {"target_host": server.address, "namespace": server.namespace}
            await run_worker(
                replace(settings, database_url=url, temporal=temporal, ui_url=f"http://localhost:{ui_port}")
            )

        asyncio.run(main())
    typer.echo("Passerelle dev stack stopped.")


def worker(
    healthcheck: Annotated[
        bool,
        typer.Option(
            "--healthcheck",
            help="Check Temporal, the database and the metrics endpoint; exit 0 if all answer.",
        ),
    ] = False,
) -> None:
    """Run a worker against TEMPORAL_ADDRESS and PASSERELLE_DATABASE_URL."""
    from worker import run_worker

    if healthcheck:
        results = asyncio.run(run_checks(load_settings()))
        for result in results:
            typer.echo(f"{result.name}: {'ok' if result.ok else 'FAILED'} ({result.detail})")
        raise SystemExit(0 if all(r.ok for r in results) else 1)
    configure_logging()
    asyncio.run(run_worker(load_settings()))


def migrate_command(state_dir: StateDir = None) -> None:
    """Apply the database migrations not yet applied."""
    configure_logging()
    with database_url(state_dir) as url:
        applied = asyncio.run(migrate(url))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


def register(app: typer.Typer) -> None:
    """Add the stack commands to the app."""
    app.command()(dev)
    app.command()(worker)
    app.command("migrate")(migrate_command)
