"""The portal's answer to requests aiohttp cannot parse: one log line, the security headers.

aiohttp's protocol answers a request it cannot read (a 100,000-character URL, a header past its
limits, a request line that is no HTTP, TLS spoken to plain HTTP) with a 400 of its own, before
any middleware runs, and logs it with a traceback: a bad request from the internet is routine for
the one service meant to face it. aiohttp offers no public hook for that answer (its issues
#3287 and #6463 ask for one), so `PortalRequestHandler` overrides `RequestHandler.handle_error`,
the method that builds it, and `PortalRunner` serves with it. Such a request is too malformed to
trust any forwarded header: its answer carries every security header but HSTS, unless TLS ends
at the portal itself.

Should aiohttp's server change shape, the portal serves as aiohttp does and says so in one log
line at start: `tests/security/test_portal_headers.py` fails on that version.
"""

import asyncio
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web

from passerelle.portal.headers import add_headers

log = structlog.get_logger()


class PortalRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, but for the answer to what it cannot parse."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer with the status and the security headers; log one line, never a traceback."""
        log.info("portal bad request", status=status, error=type(exc).__name__ if exc else None)
        if request.writer.output_size > 0:  # an answer is under way: only closing is left
            raise ConnectionError("response already started")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        response = web.Response(status=status, text=f"{status} {phrase}\n", content_type="text/plain")
        response.force_close()
        return add_headers(response, tls=request.secure)


class _PortalServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return PortalRequestHandler(self, loop=self._loop, **self._kwargs)


class PortalRunner(web.AppRunner):
    """An `AppRunner` whose connections are `PortalRequestHandler`s."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        try:
            kwargs: dict[str, Any] = dict(server._kwargs)
            loop: asyncio.AbstractEventLoop = server._loop
        except AttributeError:
            log.warning("portal: this aiohttp's server is unknown; its own 400s go without the headers")
            return server
        return _PortalServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=loop,
            **kwargs,
        )
