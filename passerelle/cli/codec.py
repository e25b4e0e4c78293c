"""`passerelle codec-server`: serve `/encode` and `/decode` for the Web UI with the configured keys;
`passerelle keys`: new keys for the environment."""

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
    With PASSERELLE_VOUCHING_KEYS, `/encode` signs who sent each payload when the token is a
    person's (docs/identity.md); their public halves are registered in the database first.
    """
    # Imported here: aiohttp and the JWT library cost every other command a quarter of a second.
    from passerelle.platform.codec_auth import CodecAuthError, check_bind, codec_auth_from
    from passerelle.platform.codec_server import Vouching, start_codec_server
    from passerelle.platform.identity import IdentityConfigError, mapping_from
    from passerelle.platform.vouching import Signer
    from passerelle.platform.vouching_keys import register as register_keys

    configure_logging()
    settings = with_key_store(keys_held_here(load_settings(), "the codec server"))
    codec = local_codec_for(settings)
    if codec is None:
        raise SystemExit("no encryption keys: set PASSERELLE_ENCRYPTION_KEYS")
    origins = ui_origin or ["http://localhost:8233", "http://127.0.0.1:8233"]
    try:
        auth = codec_auth_from(os.environ)
        check_bind(host, auth, allow_unauthenticated)
        mapping = mapping_from(os.environ)
    except (CodecAuthError, IdentityConfigError) as err:
        raise SystemExit(str(err)) from None
    vouching = Vouching(Signer(settings.vouching_keys), mapping) if settings.vouching_keys else None

    async def main() -> None:
        if vouching is not None and settings.database_url is not None:
            await register_keys(settings.database_url, vouching.signer)
        runner = await start_codec_server(
            codec,
            origins,
            host,
            port,
            auth,
            allow_unauthenticated=allow_unauthenticated,
            vouching=vouching,
            mapping=mapping,
        )
        access = "bearer token required" if auth.configured else "no token (loopback)"
        if vouching is not None:
            access += f", vouching key {vouching.signer.key_id}"
        typer.echo(
            f"codec server on http://{host}:{port} (key {codec.current_key_id}, {access}) for {origins}"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


keys = typer.Typer(help="New keys for the environment (printed, never stored).", no_args_is_help=True)


@keys.command("vouching")
def vouching_key(key_id: Annotated[str, typer.Option("--id", help="The new key's id")] = "v1") -> None:
    """Print a new Ed25519 vouching key, `id:base64-seed`: prepend it to PASSERELLE_VOUCHING_KEYS."""
    from passerelle.platform.vouching import new_vouching_key

    typer.echo(f"{key_id}:{new_vouching_key()}")


@keys.command("encryption")
def encryption_key(key_id: Annotated[str, typer.Option("--id", help="The new key's id")] = "k1") -> None:
    """Print a new AES-256 key, `id:base64-key`: prepend it to PASSERELLE_ENCRYPTION_KEYS."""
    from passerelle.platform.codec import new_key

    typer.echo(f"{key_id}:{new_key()}")


def register(app: typer.Typer) -> None:
    """Add the codec server and key commands to the app."""
    app.command("codec-server")(codec_server)
    app.add_typer(keys, name="keys")
