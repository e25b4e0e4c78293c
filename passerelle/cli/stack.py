"""Commands that run Passerelle itself: `dev` (the embedded stack), `worker`, `migrate`."""

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from passerelle.client import codec_for
from passerelle.codec import new_key
from passerelle.codec_server import start_codec_server
from passerelle.config import DEV_KEY_FILE, Settings, load_settings
from passerelle.db import migrate, redact_url
from passerelle.devstack import TemporalDevServer, embedded_postgres
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


def dev_encryption(settings: Settings, folder: Path, encrypt: bool) -> Settings:
    """Return the dev stack's settings: encrypted with the folder's key, or explicitly in clear.

    `--encrypt` creates a key file in the state folder (owner-only); once it exists the folder
    stays encrypted, since its history can only be read with that key.
    """
    key_file = folder / DEV_KEY_FILE
    if encrypt and not settings.encryption_keys and not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(f"dev:{new_key()}\n")
        typer.echo(f"  created a dev encryption key in {key_file}")
    settings = load_settings({**os.environ, "PASSERELLE_STATE_DIR": str(folder)})
    return replace(settings, encryption_off=not settings.encryption_keys)


def dev(
    state_dir: StateDir = None,
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    ip: Annotated[str, typer.Option(help="Address the Temporal server binds")] = "127.0.0.1",
    encrypt: Annotated[
        bool, typer.Option(help="Encrypt payloads with a dev key kept in the state folder")
    ] = False,
    codec_port: Annotated[int, typer.Option(help="Codec server port (with encryption)")] = 8081,
) -> None:
    """Run the whole stack in the foreground: Temporal + Web UI, PostgreSQL, migrations, worker."""
    from worker import run_worker

    configure_logging()
    folder = state_dir or load_settings().state_dir
    settings = dev_encryption(load_settings(), folder, encrypt)
    codec = codec_for(settings)
    extra = ("--ui-codec-endpoint", f"http://127.0.0.1:{codec_port}") if codec else ()
    server = TemporalDevServer(
        folder, ip=ip, port=port, ui_port=ui_port, namespace=settings.namespace, extra_args=extra
    )
    with server, database_url(folder) as url:

        async def main() -> None:
            await server.connect()
            runner = None
            if codec is not None:
                origins = [f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}"]
                runner = await start_codec_server(codec, origins, "127.0.0.1", codec_port)
            typer.secho("Passerelle dev stack is running", fg="green", bold=True)
            typer.echo(f"  Web UI:           http://localhost:{ui_port}")
            typer.echo(f"  Temporal address: {server.address} (namespace {server.namespace})")
            typer.echo(f"  Database:         {redact_url(url)}")
            typer.echo(
                f"  Encryption:       key {codec.current_key_id}, codec server http://127.0.0.1:{codec_port}"
                if codec
                else "  Encryption:       off (passerelle dev --encrypt to turn it on)"
            )
            typer.echo(f"  State folder:     {folder.resolve()}")
            typer.echo("  Ctrl-C stops everything.")
            temporal = {"target_host": server.address, "namespace": server.namespace}
            try:
                await run_worker(
                    replace(
                        settings, database_url=url, temporal=temporal, ui_url=f"http://localhost:{ui_port}"
                    )
                )
            finally:
                if runner is not None:
                    await runner.cleanup()

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


def register(app: typer.Typer) -> None:
    """Add the stack commands to the app."""
    app.command()(dev)
    app.command()(worker)
    app.command("migrate")(migrate_command)
