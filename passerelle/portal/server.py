"""Run the partner portal: its settings checked, its app served in the running event loop.

The portal is the only Passerelle service meant to face the internet, behind a reverse proxy that
terminates TLS (docs/deployment.md, "Partner portal"). Behind one, set
`PASSERELLE_PORTAL_TRUSTED_PROXIES` to the proxy's addresses: the client address the rate limit
counts is then the one the proxy forwards (`aiohttp_remotes.XForwardedStrict`), and `X-Forwarded-
Proto` tells whether the request came over TLS. From any other peer those headers are refused.
Every answer carries the security headers, the parser's own 400s included (`PortalRunner`).
"""

from collections.abc import Mapping

import asyncpg
from aiohttp import web
from aiohttp_remotes import XForwardedStrict
from temporalio.client import Client

from activities.links import LinkSigner
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer
from passerelle.platform.vouching_keys import register
from passerelle.portal.app import Portal, build_app
from passerelle.portal.protocol import PortalRunner
from passerelle.portal.store import LinkStore


class PortalConfigError(Exception):
    """The portal cannot run with these settings (no keys)."""


def signer_for(settings: Settings) -> LinkSigner:
    """Return the settings' link signer, or raise PortalConfigError when no key is set."""
    if not settings.portal_keys:
        raise PortalConfigError("no portal keys: set PASSERELLE_PORTAL_KEYS (docs/partners.md)")
    return LinkSigner(settings.portal_keys, settings.portal_url, settings.link_days)


def trusted_proxies(env: Mapping[str, str]) -> list[str]:
    """Return PASSERELLE_PORTAL_TRUSTED_PROXIES: addresses or networks, comma-separated."""
    return [p.strip() for p in env.get("PASSERELLE_PORTAL_TRUSTED_PROXIES", "").split(",") if p.strip()]


async def start_portal(
    settings: Settings,
    client: Client,
    pool: asyncpg.Pool,
    host: str = "127.0.0.1",
    port: int = 8090,
    proxies: list[str] | None = None,
) -> web.AppRunner:
    """Serve the portal on `host:port`; return the runner (`await runner.cleanup()`)."""
    vouching = Signer(settings.vouching_keys) if settings.vouching_keys else None
    if vouching is not None and settings.database_url is not None:
        await register(settings.database_url, vouching)
    portal = Portal(
        client, LinkStore(pool), signer_for(settings), vouching=vouching, issuer=settings.portal_url
    )
    # The container's own health check comes from no proxy: it must not need a forwarded address.
    forwarded = [XForwardedStrict([proxies], white_paths={"/healthz"}).middleware] if proxies else []
    runner = PortalRunner(build_app(portal, forwarded), access_log=None)  # URLs hold tokens
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
