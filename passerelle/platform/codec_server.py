"""The codec server: lets the Temporal Web UI (and `temporal` CLI) show encrypted payloads.

The UI POSTs `{"payloads": [{"metadata": {...}, "data": "<base64>"}]}` (protobuf JSON of
`Payloads`) to `<endpoint>/decode`, and to `/encode` from its Start Workflow and Send Update forms;
the server answers in the same shape. The browser calls it directly, so it sends CORS headers for
the UI's origin only. Every request passes `passerelle.platform.codec_auth` first: an allowed
`Host`, a bearer token when one is configured, and a rate per caller (`caller`); bodies are capped
at `MAX_BODY`. Without a token it binds loopback only.

It then serves a caller within their programmes only (`passerelle.platform.scope`): the namespace
the UI and the CLI name in `X-Namespace` must be one of a programme the token holds a role in, and
each payload it opens must be sealed for one (`EnvelopeCodec.for_reader`). Otherwise `/decode`
answers 403 and opens nothing, and `/encode` answers refused payloads
(`schemas.actors.REFUSED_ENCODING`), which the worker refuses with the reason. `/encode` seals a
form's input for the namespace's programme (the caller's only programme in the shared namespace),
and a payload `passerelle` names the workflow of (`X-Passerelle-Workflow`) with that
collaboration's data key, which the caller's programmes must own: an erasure reaches it.
`/whoami` answers who the token speaks for, and which programmes: `passerelle` scopes its
commands with it.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from passerelle.platform.codec_auth import (
    Caller,
    CodecAuth,
    CodecAuthError,
    NotServed,
    Verifier,
    allowed_hosts,
    check_bind,
    is_loopback,
)
from passerelle.platform.envelope import EnvelopeCodec, ForeignPayload, refused_payload
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.rate_limit import RateLimit
from passerelle.platform.remote_codec import WORKFLOW_HEADER
from passerelle.platform.scope import EVERYTHING, Scope
from passerelle.platform.vouching import Signer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The Web UI behind its login (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN`) sends the access token as
# `Authorization` and (since UI 2.32) the ID token as `Authorization-Extras`; the browser drops the
# request unless the preflight allows both. Only the access token is read here.
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization, Authorization-Extras"
MAX_BODY = 4 * 1024 * 1024  # larger than any Passerelle payload (64 KB), far below a memory problem
# A request costs one, plus one per this many bytes of body: the rate bounds the decrypting work,
# not only the count (a Passerelle payload costs one or two, a 4 MB body 65).
COST_UNIT = 64 * 1024
TOO_MANY = "too many requests: try again in a minute"
CALLER = web.RequestKey("caller", Caller)
NAMESPACE_HEADER = "X-Namespace"
MAX_WORKFLOW_ID = 1000  # Temporal's own limit on a workflow id's length


class Refused(Exception):
    """A request outside the caller's programmes (403)."""


@dataclass(frozen=True)
class Vouching:
    """What `/encode` signs with, and how it reads a token's claims."""

    signer: Signer
    mapping: ClaimsMapping


def caller(identity: str | None, address: str, auth: CodecAuth) -> str | None:
    """Return whose budget a request spends, or None when nothing is counted.

    The token's caller where there is a token: behind a reverse proxy every user shares the
    proxy's address, and one user's long history must not lock the others out. The address
    otherwise. Nothing on loopback without a token (`passerelle dev`): only this machine reaches
    it then, and anyone here may decode as much as they like by waiting, so a limit would stop
    nobody but the developer (the Web UI and the CLI share 127.0.0.1).
    """
    if identity is not None:
        return identity
    if not auth.configured and is_loopback(address):
        return None
    return f"address {address}"


def cost(body_size: int | None) -> float:
    """Return what a request spends: one, plus one per `COST_UNIT` of its body (the largest
    accepted when it does not say)."""
    return 1 + (MAX_BODY if body_size is None else min(body_size, MAX_BODY)) // COST_UNIT


TokenSource = Callable[[], Awaitable[str]]


def _guard(auth: CodecAuth, hosts: frozenset[str], default_token: TokenSource | None = None) -> Any:
    verifier, limit = Verifier(auth), RateLimit(auth.rate_per_minute)

    async def admit(request: web.Request) -> None:
        address = request.remote or "?"
        header = request.headers.get("Authorization")
        if header is None and default_token is not None:
            header = f"Bearer {await default_token()}"  # the local operator's (`start_codec_server`)
        try:
            who_asks = await verifier.caller(header)
        except NotServed:
            # Refused tokens spend the address's budget: guessing is bounded where it comes from.
            if not limit.allow(f"address {address}", cost(request.content_length)):
                raise NotServed(429, TOO_MANY) from None
            raise
        who = caller(who_asks.key, address, auth)
        if who is not None and not limit.allow(who, cost(request.content_length)):
            raise NotServed(429, TOO_MANY)
        request[CALLER] = who_asks

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.headers.get("Host", "").lower() not in hosts:
                raise NotServed(421, "this host name is not served here")
            if request.method != "OPTIONS":  # a CORS preflight carries no credentials
                await admit(request)
        except NotServed as refused:
            response = web.json_response({"error": refused.reason}, status=refused.status)
            if refused.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return await handler(request)

    return middleware


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


Transform = Callable[[web.Request, Sequence[Payload]], Awaitable[list[Payload]]]


def scope_of(request: web.Request, mapping: ClaimsMapping) -> Scope:
    """Return the programmes the request's caller sees: a verified person's roles; every
    programme for the static token or none at all (loopback without a token), which name nobody."""
    who_asks: Caller | None = request.get(CALLER)
    if who_asks is None or who_asks.claims is None:
        return EVERYTHING
    return mapping.scope(who_asks.claims)


def _scoped(codec: PayloadCodec, request: web.Request, scope: Scope, *, encoding: bool) -> PayloadCodec:
    """Return the codec serving this caller: within the namespace's programme, which the caller
    must read; sealing for it (or the caller's only programme in the shared namespace)."""
    if not isinstance(codec, EnvelopeCodec):
        return codec  # master keys only: nothing names a programme (docs/security.md)
    namespace = request.headers.get(NAMESPACE_HEADER) or None
    programme = codec.namespaces.programme_of(namespace)
    if programme is not None and not scope.reads(programme):
        raise Refused(f"your login holds no role in programme {programme} (namespace {namespace})")
    if encoding and programme is None and not scope.every_programme and len(scope.programmes) == 1:
        (programme,) = scope.programmes
    workflow_id = (request.headers.get(WORKFLOW_HEADER) or "")[:MAX_WORKFLOW_ID] or None
    if encoding and workflow_id is None and programme is None and not scope.every_programme:
        # Sealed with the bare master key, it would open in any namespace's worker.
        raise Refused("name the programme: open its own namespace, or send from a login of one programme")
    return codec.for_reader(namespace, programme, scope.reads, workflow_id if encoding else None)


def _vouching_encoder(codec: PayloadCodec, vouching: Vouching | None, mapping: ClaimsMapping) -> Transform:
    """Return `/encode`: with a person's verified token, each payload first gets a statement
    of who sent it, signed with the current vouching key (`passerelle.platform.vouching`)."""

    async def encode(request: web.Request, payloads: Sequence[Payload]) -> list[Payload]:
        try:
            scoped = _scoped(codec, request, scope_of(request, mapping), encoding=True)
            who_asks: Caller | None = request.get(CALLER)
            if vouching is not None and who_asks is not None and who_asks.claims is not None:
                claims = vouching.mapping.claims(who_asks.claims, who_asks.token_key)
                payloads = [vouching.signer.seal(p, claims) for p in payloads]
            return await scoped.encode(payloads)
        except (Refused, ForeignPayload) as refused:
            # The Temporal CLI retries a failed encode without end: a refused payload instead
            # reaches the worker, which refuses the update or start with this reason.
            return [refused_payload(str(refused)) for _ in payloads]

    return encode


def _decoder(codec: PayloadCodec, mapping: ClaimsMapping) -> Transform:
    async def decode(request: web.Request, payloads: Sequence[Payload]) -> list[Payload]:
        return await _scoped(codec, request, scope_of(request, mapping), encoding=False).decode(payloads)

    return decode


def _endpoint(transform: Transform) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return web.json_response({"error": "send application/json"}, status=415)
        try:
            payloads = json_format.Parse(await request.text(), Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError as err:
            return web.json_response({"error": f"not a Payloads JSON object: {err}"}, status=400)
        try:
            result = await transform(request, payloads.payloads)
        except (Refused, ForeignPayload) as refused:
            return web.json_response({"error": str(refused)}, status=403)
        except Exception as err:  # a wrong key or a tampered payload: say so, do not crash
            return web.json_response({"error": str(err) or type(err).__name__}, status=400)
        body = json_format.MessageToJson(Payloads(payloads=result))
        return web.Response(text=body, content_type="application/json")

    return handle


def _whoami(mapping: ClaimsMapping) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.json_response(scope_of(request, mapping).to_json())

    return handle


async def _preflight(request: web.Request) -> web.StreamResponse:
    return web.Response()  # the CORS middleware answers preflights; this route only declares them


def build_app(
    codec: PayloadCodec,
    origins: Sequence[str],
    auth: CodecAuth,
    hosts: frozenset[str],
    vouching: Vouching | None = None,
    default_token: TokenSource | None = None,
    mapping: ClaimsMapping | None = None,
) -> web.Application:
    """Return the aiohttp app with `/encode`, `/decode`, `/whoami`, CORS for `origins` and
    `auth`'s guard; with `vouching`, `/encode` signs who sent each payload. `mapping` reads the
    roles of a token (the vouching one by default)."""
    mapping = mapping or (vouching.mapping if vouching is not None else ClaimsMapping())
    guard = _guard(auth, hosts, default_token)
    app = web.Application(middlewares=[_cors(list(origins)), guard], client_max_size=MAX_BODY)
    app.router.add_post("/encode", _endpoint(_vouching_encoder(codec, vouching, mapping)))
    app.router.add_post("/decode", _endpoint(_decoder(codec, mapping)))
    app.router.add_post("/whoami", _whoami(mapping))
    for path in ("/encode", "/decode", "/whoami"):
        app.router.add_route("OPTIONS", path, _preflight)
    return app


async def start_codec_server(
    codec: PayloadCodec,
    origins: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 8081,
    auth: CodecAuth | None = None,
    *,
    allow_unauthenticated: bool = False,
    vouching: Vouching | None = None,
    default_token: TokenSource | None = None,
    mapping: ClaimsMapping | None = None,
) -> web.AppRunner:
    """Start serving in the running event loop; return the runner (`await runner.cleanup()`).

    Raises CodecAuthError when `host` is beyond loopback and no token is required, unless
    `allow_unauthenticated` (a container whose port is published on the host's loopback only).
    `default_token` stands for a request that sends none: the dev stack's local operator, whose
    Web UI has no login. Loopback only: it speaks for whoever reaches the port.
    """
    auth = auth or CodecAuth()
    check_bind(host, auth, allow_unauthenticated)
    if default_token is not None and not is_loopback(host):
        raise CodecAuthError(f"a default token speaks for whoever reaches {host}: bind loopback only")
    hosts = allowed_hosts(auth, host, port)
    runner = web.AppRunner(
        build_app(codec, origins, auth, hosts, vouching, default_token, mapping), access_log=None
    )
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
