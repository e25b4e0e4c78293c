"""The worker refuses to start in a namespace without Passerelle's search attributes."""

import asyncio
import uuid

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.provision import ensure_search_attributes
from passerelle.platform.worker import check_search_attributes


async def test_missing_search_attributes_stop_the_worker_with_the_fix(dev_env: WorkflowEnvironment) -> None:
    """A fresh namespace is refused with the exact create commands; once registered, it passes."""
    namespace = f"ns-{uuid.uuid4().hex[:12]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    config = dev_env.client.config()
    client = Client(**{**config, "namespace": namespace})
    with pytest.raises(SystemExit) as info:
        await check_search_attributes(client)
    message = str(info.value)
    assert f"missing in namespace {namespace}" in message
    assert f"--namespace {namespace} --name Stalled --type Bool" in message
    assert "--name Corporate --type Keyword" in message
    for _ in range(40):  # the namespace may take a moment to accept operator calls
        try:
            await ensure_search_attributes(client)
            break
        except Exception:
            await asyncio.sleep(0.25)
    await check_search_attributes(client)
