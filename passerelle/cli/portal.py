"""`passerelle portal`: serve the partner portal (docs/partners.md)."""

import asyncio
import os
from typing import Annotated

import typer

from passerelle.platform.client import client_for, keys_held_here
from passerelle.platform.logs import configure_logging
from passerelle.platform.settings import load_settings


def portal(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8090,
    host: Annotated[str, typer.Option(help="Address to bind (the reverse proxy's side)")] = "127.0.0.1",
) -> None:
    """Serve the partner portal: the pages behind the one-click links of the e-mails.

    Needs PASSERELLE_PORTAL_KEYS (the link-signing keys), PASSERELLE_PORTAL_URL (its public URL, as
    the e-mails show it), PASSERELLE_DATABASE_URL and Temporal's address.
    """
    # Imported here: aiohttp and the portal's pages cost every other command start-up time.
    from passerelle.platform.db import create_pool
    from passerelle.portal.server import PortalConfigError, signer_for, start_portal, trusted_proxies

    configure_logging()
    settings = keys_held_here(load_settings(), "the partner portal")
    try:
        signer_for(settings)
    except PortalConfigError as err:
        raise SystemExit(str(err)) from None
    if not settings.database_url:
        raise SystemExit("PASSERELLE_DATABASE_URL is not set: the portal records each link's use there")
    url = settings.database_url

    async def main() -> None:
        client = await client_for(settings)
        pool = await create_pool(url, max_size=settings.db_pool_max)
        runner = await start_portal(settings, client, pool, host, port, trusted_proxies(os.environ))
        typer.echo(f"partner portal on http://{host}:{port} (links point at {settings.portal_url})")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await pool.close()

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add the portal command to the app."""
    app.command("portal")(portal)
