"""A payload codec that encodes and decodes through the codec server, with the operator's login.

An operator's `passerelle` holds no encryption key (docs/identity.md): with `PASSERELLE_CODEC_URL`
set, `passerelle.platform.client.codec_for` gives it this codec. It POSTs the payloads as the
Web UI does, `{"payloads": [...]}` (protobuf JSON of `Payloads`, which
`passerelle.platform.codec_server` parses), to `<url>/encode` or `<url>/decode`, with
`Authorization: Bearer <access token>` from `passerelle login` (`token_source.TokenSource`). The
codec server checks the token, so what this process encodes is encoded as that person.

Each call names the namespace it is made for (`X-Namespace`), as the Web UI does: the client's
own, or, for a payload of a workflow, the namespace of that workflow's client (the SDK's
serialization context), so a command that acts in several programmes' namespaces on one
connection (`passerelle.platform.client.client_in`) has each payload sealed for its own.

Whatever goes wrong is one line (`CodecServerError`), never a traceback: a refused token says to
log in again, an unreachable server names its URL.
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

# A codec call carries a few payloads of at most 64 KB; a server that takes longer is not coming.
TIMEOUT = 30.0
MAX_REASON = 200  # characters of a non-JSON error body quoted in the one line

Token = Callable[[], Awaitable[str]]


class CodecServerError(Exception):
    """The codec server did not encode or decode; the message is one line."""


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text.strip()[:MAX_REASON] or f"HTTP {response.status_code}"


class _Connection:
    """The HTTP connections to the codec server, shared by a codec and its copies in context."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.http: httpx.AsyncClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None


# Passerelle's own header, beside the protocol's `X-Namespace`: the workflow a payload is for.
WORKFLOW_HEADER = "X-Passerelle-Workflow"


class RemoteCodec(PayloadCodec, WithSerializationContext):
    """Encodes and decodes through the codec server at `url`, as the bearer of `token()`."""

    def __init__(
        self, url: str, token: Token, timeout: float = TIMEOUT, namespace: str | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace  # sent as `X-Namespace`, as the Web UI does: the codec server scopes by it
        self.workflow_id: str | None = None  # sent as `WORKFLOW_HEADER`: whose data key seals
        self._token = token
        self._connection = _Connection(timeout)

    def with_context(self, context: SerializationContext) -> "RemoteCodec":
        """Return this codec naming the namespace and the workflow in context (the SDK calls
        it), on the same connections: the codec server seals a workflow's payloads with that
        collaboration's data key, so an erasure reaches what this process sent too."""
        if not isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            return self
        bound = copy.copy(self)
        bound.namespace = context.namespace or self.namespace
        bound.workflow_id = context.workflow_id or None
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Return the payloads encoded by the codec server."""
        return await self._call("encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Return the payloads decoded by the codec server."""
        return await self._call("decode", payloads)

    async def whoami(self) -> dict[str, Any]:
        """Return who the codec server says the login is, and its programme roles."""
        response = await self._post("whoami", "{}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise CodecServerError(f"the codec server at {self.url} did not say who you are")
        return answer

    async def aclose(self) -> None:
        """Close the connections kept to the codec server."""
        connection = self._connection
        if connection.http is not None:
            await connection.http.aclose()
            connection.http = None

    def _client(self) -> httpx.AsyncClient:
        # One connection pool per event loop: a pool cannot outlive the loop it was opened in.
        loop, connection = asyncio.get_running_loop(), self._connection
        if connection.http is None or connection.loop is not loop:
            connection.http = httpx.AsyncClient(timeout=connection.timeout)
            connection.loop = loop
        return connection.http

    async def _call(self, action: str, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        response = await self._post(action, json_format.MessageToJson(Payloads(payloads=payloads)))
        try:
            answer = json_format.Parse(response.text, Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError:
            raise CodecServerError(
                f"the codec server at {self.url} answered something else than payloads"
            ) from None
        if len(answer.payloads) != len(payloads):
            raise CodecServerError(
                f"the codec server at {self.url} answered {len(answer.payloads)} payloads for {len(payloads)}"
            )
        return list(answer.payloads)

    async def _post(self, action: str, body: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._token()}", "Content-Type": "application/json"}
        if self.namespace:
            headers["X-Namespace"] = self.namespace
        if self.workflow_id:
            headers[WORKFLOW_HEADER] = self.workflow_id
        try:
            response = await self._client().post(f"{self.url}/{action}", content=body, headers=headers)
        except httpx.TransportError as err:
            detail = str(err) or type(err).__name__
            raise CodecServerError(
                f"cannot reach the codec server at {self.url} ({detail}): check PASSERELLE_CODEC_URL"
            ) from None
        if response.status_code == 401:
            raise CodecServerError(
                f"the codec server refused your token: {_reason(response)}; run passerelle login"
            )
        if response.status_code != 200:
            raise CodecServerError(
                f"the codec server at {self.url} did not {action} (HTTP {response.status_code}): "
                f"{_reason(response)}"
            )
        return response
