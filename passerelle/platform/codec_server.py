"""The codec server: lets the Temporal Web UI (and `temporal` CLI) show encrypted payloads.

The UI POSTs `{"payloads": [{"metadata": {...}, "data": "<base64>"}]}` (protobuf JSON of
`Payloads`) to `<endpoint>/decode`, and to `/encode` from its Start Workflow and Send Update forms;
the server answers in the same shape. The browser calls it directly, so it sends CORS headers for
the UI's origin only. It decrypts anything it is sent: bind it to loopback (the default) or put it
behind the same authentication as the UI.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


def _cors(origins: Sequence[str]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response()
        else:
            response = await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    return middleware


def _endpoint(transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return web.json_response({"error": "send application/json"}, status=415)
        try:
            payloads = json_format.Parse(await request.text(), Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError as err:
            return web.json_response({"error": f"not a Payloads JSON object: {err}"}, status=400)
        try:
            result = await transform(payloads.payloads)
        except Exception as err:  # a wrong key or a tampered payload: say so, do not crash
            return web.json_response({"error": str(err) or type(err).__name__}, status=400)
        body = json_format.MessageToJson(Payloads(payloads=result))
        return web.Response(text=body, content_type="application/json")

    return handle


def build_app(codec: PayloadCodec, origins: Sequence[str]) -> web.Application:
    """Return the aiohttp app with `/encode`, `/decode` and CORS for `origins`."""
    app = web.Application(middlewares=[_cors(list(origins))], client_max_size=4 * 1024 * 1024)
    app.router.add_post("/encode", _endpoint(codec.encode))
    app.router.add_post("/decode", _endpoint(codec.decode))
    for path in ("/encode", "/decode"):
        app.router.add_route("OPTIONS", path, _endpoint(codec.decode))  # answered by the middleware
    return app


async def start_codec_server(
    codec: PayloadCodec, origins: Sequence[str], host: str = "127.0.0.1", port: int = 8081
) -> web.AppRunner:
    """Start serving in the running event loop; return the runner (`await runner.cleanup()`)."""
    runner = web.AppRunner(build_app(codec, origins), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
