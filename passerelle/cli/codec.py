"""`passerelle codec-server`: serve `/encode` and `/decode` for the Web UI with the configured keys."""

import asyncio
import os
from typing import Annotated

import typer

from passerelle.cli.common import with_key_store
from passerelle.platform.client import keys_held_here, local_codec_for
from passerelle.platform.logs import configure_logging
from passerelle.platform.settings import load_settings


def codec_server(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8081,
    host: Annotated[str, typer.Option(help="Address to bind (keep it on loopback, or behind auth)")] = (
        "127.0.0.1"
    ),
    ui_origin: Annotated[
        list[str] | None, typer.Option(help="Web UI origin allowed by CORS, repeatable")
    ] = None,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated",
            help="Bind beyond loopback without a token: only in a container published on loopback",
        ),
    ] = False,
) -> None:
    """Decode and encode payloads for the Temporal Web UI with PASSERELLE_ENCRYPTION_KEYS.

    Requests need a bearer token when PASSERELLE_CODEC_TOKEN or PASSERELLE_CODEC_JWKS_URL is set,
    and an allowed Host (PASSERELLE_CODEC_ALLOWED_HOSTS); see docs/configuration.md, Encryption.
    """
    # Imported here: aiohttp and the JWT library cost every other command a quarter of a second.
    from passerelle.platform.codec_auth import CodecAuthError, check_bind, codec_auth_from
    from passerelle.platform.codec_server import start_codec_server

    configure_logging()
    codec = local_codec_for(with_key_store(keys_held_here(load_settings(), "the codec server")))
    if codec is None:
        raise SystemExit("no encryption keys: set PASSERELLE_ENCRYPTION_KEYS")
    origins = ui_origin or ["http://localhost:8233", "http://127.0.0.1:8233"]
    try:
        auth = codec_auth_from(os.environ)
        check_bind(host, auth, allow_unauthenticated)
    except CodecAuthError as err:
        raise SystemExit(str(err)) from None

    async def main() -> None:
        runner = await start_codec_server(
            codec, origins, host, port, auth, allow_unauthenticated=allow_unauthenticated
        )
        access = "bearer token required" if auth.configured else "no token (loopback)"
        typer.echo(
            f"codec server on http://{host}:{port} (key {codec.current_key_id}, {access}) for {origins}"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add the codec server command to the app."""
    app.command("codec-server")(codec_server)
