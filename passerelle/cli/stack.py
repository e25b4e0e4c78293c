"""Commands that run Passerelle itself: `dev` (the embedded stack), `worker`, `migrate`, `schedules apply`."""

import asyncio
import os
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import Client

from activities.channels.config import SmtpSettings
from passerelle.cli.common import StateDir, database_url
from passerelle.devstack.servers import TemporalDevServer
from passerelle.devstack.smtpsink import ReceivedMail, SinkHandler, describe, start_sink
from passerelle.platform.client import local_codec_for
from passerelle.platform.codec import new_key
from passerelle.platform.db import MIN_PASSWORD_LENGTH, create_pool, migrate, redact_url, weak_passwords
from passerelle.platform.health import run_checks
from passerelle.platform.login_settings import DEV_IDENTITY_FILE
from passerelle.platform.logs import configure_logging
from passerelle.platform.provision import add_programme
from passerelle.platform.schedules import DIGEST_SCHEDULE_ID, RETENTION_SCHEDULE_ID, apply_schedules
from passerelle.platform.settings import (
    DEV_KEY_FILE,
    DEV_PORTAL_KEY_FILE,
    Settings,
    load_settings,
    portal_keys,
)


def dev_encryption(folder: Path, encrypt: bool, env: Mapping[str, str] = os.environ) -> Settings:
    """Return the dev stack's settings for state folder `folder`: encrypted as in production, or
    explicitly in clear.

    Encrypted (the default), the stack uses PASSERELLE_ENCRYPTION_KEYS, else that folder's key
    file, created on first start (owner-only). Once the file exists the folder stays encrypted,
    even with `--no-encrypt`: its history can only be read with that key. A folder started in
    clear and restarted encrypted keeps working: clear payloads read through the codec.
    """
    env = {**env, "PASSERELLE_STATE_DIR": str(folder)}
    key_file = folder / DEV_KEY_FILE
    if encrypt and not load_settings(env).encryption_keys and not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(f"dev:{new_key()}\n")
        typer.echo(f"  created a dev encryption key in {key_file}")
    elif not encrypt and key_file.exists():
        typer.echo(f"  --no-encrypt ignored: {key_file} exists, and this folder's history needs it")
    settings = load_settings(env)
    return replace(settings, encryption_off=not settings.encryption_keys)


def dev(
    state_dir: StateDir = None,
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    ip: Annotated[str, typer.Option(help="Address the Temporal server binds")] = "127.0.0.1",
    smtp_sink: Annotated[
        bool, typer.Option(help="Run a local SMTP sink and send e-mail notifications to it (printed here)")
    ] = False,
    smtp_sink_port: Annotated[int, typer.Option(help="Port of the local SMTP sink")] = 8025,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt/--no-encrypt",
            help="Encrypt payloads (as in production) with a dev key kept in the state folder",
        ),
    ] = True,
    codec_port: Annotated[int, typer.Option(help="Codec server port (with encryption)")] = 8081,
    portal_port: Annotated[int, typer.Option(help="Partner portal port (docs/partners.md)")] = 8090,
    oidc_port: Annotated[int, typer.Option(help="Identity provider port (docs/identity.md)")] = 8092,
) -> None:
    """Run the whole stack in the foreground: Temporal + Web UI, PostgreSQL, migrations, worker."""
    from passerelle.devstack.identity import dev_provider, dev_vouching, vouched
    from passerelle.platform.worker import run_worker

    configure_logging()
    folder = state_dir or load_settings().state_dir
    settings = dev_portal(dev_encryption(folder, encrypt), folder, portal_port)
    settings = dev_vouching(settings, folder)
    if not settings.encryption_keys and "PASSERELLE_ACTORS" not in os.environ:
        # In clear there is no codec server to vouch for anyone: actions are declared.
        settings = replace(settings, actors="declared")
    # The stack holds the keys and serves the codec server itself: a PASSERELLE_CODEC_URL in the
    # developer's shell is for their `passerelle` commands, not for its worker.
    settings = replace(settings, codec_url=None)
    if smtp_sink:
        settings = with_smtp_sink(settings, smtp_sink_port)
    extra = ("--ui-codec-endpoint", f"http://127.0.0.1:{codec_port}") if settings.encryption_keys else ()
    server = TemporalDevServer(
        folder, ip=ip, port=port, ui_port=ui_port, namespace=settings.namespace, extra_args=extra
    )
    # The operator gets an identity where actions must be verified (the default): in a migration
    # window (PASSERELLE_ACTORS=declared) the stack runs as before, typed names and all.
    provider = dev_provider(folder, oidc_port) if settings.actors == "verified" else nullcontext(None)
    with server, database_url(folder) as url, provider as identity:
        settings = replace(settings, database_url=url)  # each collaboration's data key lives there
        codec = local_codec_for(settings)

        async def main() -> None:
            await migrate(url)  # the data keys' table, before the first payload is sealed
            sink = runner = login = None
            if identity is not None:
                from passerelle.devstack.identity import sign_in_operator
                from passerelle.platform.vouching import Signer
                from passerelle.platform.vouching_keys import register

                await register(url, Signer(settings.vouching_keys))  # what the audit checks against
                login = await sign_in_operator(identity.issuer, folder)
            if smtp_sink:
                try:
                    handler = SinkHandler(on_mail=show_mail, folder=folder / "mail")
                    sink = await start_sink(handler, port=smtp_sink_port)
                except OSError as err:
                    raise SystemExit(
                        f"cannot run the SMTP sink on 127.0.0.1:{smtp_sink_port} ({err.strerror}); "
                        "choose another port with --smtp-sink-port"
                    ) from None
            if codec is not None:
                origins = [f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}"]
                try:
                    from passerelle.platform.codec_server import start_codec_server  # aiohttp: only here

                    runner = await start_codec_server(
                        codec, origins, "127.0.0.1", codec_port, **vouched(settings, identity, login)
                    )
                except OSError as err:
                    raise SystemExit(
                        f"cannot run the codec server on 127.0.0.1:{codec_port} ({err.strerror}); "
                        "choose another port with --codec-port"
                    ) from None
            client = await server.connect(settings)
            schedules = await apply_schedules(
                client, os.environ, settings.task_queue, settings.retention_days
            )
            programmes = [
                await add_programme(client, name, settings.namespaces, settings.task_queue, os.environ)
                for name in DEV_PROGRAMMES
            ]
            portal_pool = await create_pool(url, max_size=2)
            try:
                from passerelle.portal.server import start_portal  # aiohttp: only here

                portal = await start_portal(settings, client, portal_pool, "127.0.0.1", portal_port)
            except OSError as err:
                raise SystemExit(
                    f"cannot run the partner portal on 127.0.0.1:{portal_port} ({err.strerror}); "
                    "choose another port with --portal-port"
                ) from None

            def banner() -> None:
                typer.secho("Passerelle dev stack is running", fg="green", bold=True)
                typer.echo(f"  Web UI:           http://localhost:{ui_port}")
                typer.echo(f"  Temporal address: {server.address} (namespace {server.namespace})")
                typer.echo(f"  Database:         {redact_url(url)}")
                typer.echo(
                    f"  Encryption:       on (key {codec.current_key_id}, codec server http://127.0.0.1:{codec_port})"
                    if codec
                    else "  Encryption:       off (--no-encrypt: payloads in clear in Temporal)"
                )
                typer.echo(f"  State folder:     {folder.resolve()}")
                typer.echo(f"  Notifications:    {', '.join(settings.channels)}")
                typer.echo(f"  Partner portal:   {settings.portal_url} (the e-mails' one-click answers)")
                typer.echo(f"  Actors:           {settings.actors} (docs/identity.md)")
                typer.echo(
                    "  Programmes:       "
                    + "; ".join(f"{p.name} in namespace {p.namespace}" for p in programmes)
                    + f"; any other in {server.namespace}"
                )
                if identity is not None and login is not None:
                    from passerelle.devstack.identity import operator_of

                    typer.echo(f"  You are:          {operator_of(login)}, signed in at {identity.issuer}")
                if sink is not None:
                    typer.echo(
                        f"  SMTP sink:        127.0.0.1:{smtp_sink_port} (mails are printed here and kept in "
                        f"{folder / 'mail'})"
                    )
                typer.echo(
                    f"  Daily digest:     schedule {DIGEST_SCHEDULE_ID} {schedules[DIGEST_SCHEDULE_ID]}"
                )
                typer.echo(
                    f"  Retention:        schedule {RETENTION_SCHEDULE_ID} "
                    f"{schedules[RETENTION_SCHEDULE_ID]} ({settings.retention_days} days after closing)"
                )
                typer.echo("  Ctrl-C stops everything.")

            if login is not None:
                from passerelle.devstack.identity import write_dev_identity

                write_dev_identity(folder, f"http://127.0.0.1:{codec_port}", login)
            temporal = {"target_host": server.address, "namespace": server.namespace}
            ui_url = f"http://localhost:{ui_port}"
            try:
                await run_worker(
                    replace(settings, database_url=url, temporal=temporal, ui_url=ui_url), on_ready=banner
                )
            finally:
                (folder / DEV_IDENTITY_FILE).unlink(missing_ok=True)
                await portal.cleanup()
                await portal_pool.close()
                if sink is not None:
                    sink.close()
                if runner is not None:
                    await runner.cleanup()

        asyncio.run(main())
    typer.echo("Passerelle dev stack stopped.")


# The dev stack's programmes with namespaces of their own, side by side in the Web UI's namespace
# switcher; the demo's third programme stays in the shared namespace, as one not yet moved would.
DEV_PROGRAMMES = ("French Tech Corporate Community", "Coalition Next")


def dev_portal(settings: Settings, folder: Path, port: int) -> Settings:
    """Return the dev stack's settings with the partner portal on `port`: its link-signing key
    is PASSERELLE_PORTAL_KEYS, else the state folder's key file, created on first start."""
    key_file = folder / DEV_PORTAL_KEY_FILE
    if not settings.portal_keys and not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(f"dev:{new_key()}\n")
    keys = settings.portal_keys or portal_keys({"PASSERELLE_PORTAL_KEYS": key_file.read_text()}, folder)
    url = os.environ.get("PASSERELLE_PORTAL_URL") or f"http://localhost:{port}"
    return replace(settings, portal_keys=keys, portal_url=url.rstrip("/"))


def with_smtp_sink(settings: Settings, port: int) -> Settings:
    """Return settings that send e-mail to the local sink, besides the channels already chosen."""
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", username=None)
    channels = settings.channels if "smtp" in settings.channels else (*settings.channels, "smtp")
    return replace(settings, smtp=smtp, channels=channels)


def show_mail(mail: ReceivedMail) -> None:
    """Print a mail the sink received."""
    typer.secho(describe(mail), fg="cyan")


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
    from passerelle.platform.worker import run_worker

    if healthcheck:
        results = asyncio.run(run_checks(load_settings()))
        for result in results:
            typer.echo(f"{result.name}: {'ok' if result.ok else 'FAILED'} ({result.detail})")
        raise SystemExit(0 if all(r.ok for r in results) else 1)
    configure_logging()
    asyncio.run(run_worker(load_settings()))


def migrate_command(
    state_dir: StateDir = None,
    grant_worker: Annotated[
        str | None,
        typer.Option(
            "--grant-worker",
            envvar="PASSERELLE_DB_WORKER_ROLE",
            help="then give this existing role the workers' least-privilege rights",
        ),
    ] = None,
) -> None:
    """Apply the database migrations not yet applied (as the owner role).

    Refuses to run while a deployment password is an example one or shorter than 16 characters.
    """
    configure_logging()
    with database_url(state_dir) as url:
        weak = weak_passwords(url, os.environ)
        if weak:
            raise SystemExit(
                f"weak password in {', '.join(weak)}: set each to a random one of at least "
                f"{MIN_PASSWORD_LENGTH} characters, not the example (docs/deployment.md, docker-compose)"
            )
        applied = asyncio.run(migrate(url, worker_role=grant_worker))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")
    if grant_worker:
        typer.echo(f"granted the workers' rights to {grant_worker}")


schedules = typer.Typer(help="Temporal Schedules (the daily digest).", no_args_is_help=True)


@schedules.command("apply")
def schedules_apply() -> None:
    """Create or update the daily digest Schedule (idempotent)."""
    from passerelle.cli.common import run

    async def go(settings: Settings, client: Client) -> dict[str, str]:
        return await apply_schedules(client, os.environ, settings.task_queue, settings.retention_days)

    for schedule_id, outcome in run(go).items():
        typer.echo(f"schedule {schedule_id} {outcome}")


def register(app: typer.Typer) -> None:
    """Add the stack commands to the app."""
    app.add_typer(schedules, name="schedules")
    app.command()(dev)
    app.command()(worker)
    app.command("migrate")(migrate_command)
