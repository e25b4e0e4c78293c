"""The portal's security headers, on every response it gives: pages, refusals and errors alike.

`secured` is the app's one middleware: behind a proxy, it runs the forwarded-address middleware
(`aiohttp_remotes.XForwardedStrict`) inside itself, so that `Strict-Transport-Security` follows the
scheme the proxy forwarded (`X-Forwarded-Proto: https`) while a request that middleware refuses
still gets every other header. An exception under a check (PostgreSQL or Temporal failing) is a
503 with nothing recorded and no traceback. The 400s aiohttp's parser answers before any
middleware runs get the same headers from `passerelle.portal.protocol`.
"""

from collections.abc import Sequence

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

log = structlog.get_logger()

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never hand it to another site
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Only over TLS: RFC 6797 forbids the header on a response over plain HTTP.
HSTS = ("Strict-Transport-Security", "max-age=31536000")
UNAVAILABLE = "Service unavailable: nothing was recorded. Try again in a few minutes.\n"


def add_headers(response: web.StreamResponse, *, tls: bool) -> web.StreamResponse:
    """Set the security headers on `response` (a handler's own values win), HSTS when `tls`."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if tls:
        response.headers[HSTS[0]] = HSTS[1]
    return response


def _through(proxy: Middleware, then: Handler) -> Handler:
    async def step(request: web.Request) -> web.StreamResponse:
        return await proxy(request, then)

    return step


def secured(proxies: Sequence[Middleware] = ()) -> Middleware:
    """Return the middleware that sets the headers on every response, `proxies` run inside it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        served = request  # as the handlers see it: behind a proxy, with the forwarded scheme

        async def innermost(forwarded: web.Request) -> web.StreamResponse:
            nonlocal served
            served = forwarded
            return await handler(forwarded)

        chain: Handler = innermost
        for proxy in reversed(proxies):
            chain = _through(proxy, chain)
        try:
            response = await chain(request)
        except web.HTTPException as err:
            response = web.Response(status=err.status, text=err.text or err.reason, content_type="text/plain")
        except Exception as err:  # PostgreSQL or Temporal failing under a check: nothing recorded
            log.warning("portal request failed", error=type(err).__name__)
            response = web.Response(status=503, text=UNAVAILABLE, content_type="text/plain")
        return add_headers(response, tls=served.secure)

    return middleware
