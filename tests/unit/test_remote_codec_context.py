"""The codec server is told the namespace of the workflow a payload belongs to.

A command acting in several programmes' namespaces on one connection (`client_in`) hands every
payload to the same `RemoteCodec`: the SDK's serialization context names the workflow's
namespace, which each call must send as `X-Namespace`, or the codec server seals the payload
for the wrong programme. A small HTTP server here records the header of every call.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from passerelle.platform.client import converter_for
from passerelle.platform.remote_codec import WORKFLOW_HEADER, RemoteCodec
from passerelle.platform.settings import load_settings
from tests.integration.processes import free_port

workflows: list[str | None] = []  # the workflow each call named
PLAIN = [Payload(metadata={"encoding": b"json/plain"}, data=b'"pilot"')]


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []
    workflows.clear()

    async def echo(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Namespace"))
        workflows.append(request.headers.get(WORKFLOW_HEADER))
        return web.Response(text=await request.text(), content_type="application/json")

    app = web.Application()
    app.router.add_post("/encode", echo)
    app.router.add_post("/decode", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def token() -> str:
    return "a-token"


async def test_a_payload_of_a_workflow_names_the_workflows_namespace(
    recorder: tuple[str, list[str | None]],
) -> None:
    url, seen = recorder
    codec = RemoteCodec(url, token, namespace="default")
    bound = codec.with_context(WorkflowSerializationContext(namespace="passerelle-a", workflow_id="w"))
    try:
        assert await bound.encode(PLAIN) == PLAIN
        assert await bound.decode(PLAIN) == PLAIN
        assert await codec.encode(PLAIN) == PLAIN
    finally:
        await codec.aclose()
    assert seen == ["passerelle-a", "passerelle-a", "default"]
    assert codec.namespace == "default", "the codec itself keeps its namespace"
    assert workflows == ["w", "w", None], "and names the workflow whose data key seals its payloads"


def test_the_operators_converter_passes_the_context_to_the_codec_server(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PASSERELLE_CODEC_URL": "http://127.0.0.1:1",
            "PASSERELLE_OIDC_ISSUER": "http://127.0.0.1:2",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "PASSERELLE_STATE_DIR": str(tmp_path / "state"),
        }
    )
    codec = converter_for(settings).payload_codec
    assert codec is not None
    bound = codec.with_context(  # type: ignore[attr-defined]
        WorkflowSerializationContext(namespace="passerelle-b", workflow_id="w")
    )
    assert isinstance(bound.inner, RemoteCodec) and bound.inner.namespace == "passerelle-b"
