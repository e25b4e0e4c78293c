"""The worker's sandbox answers each payload's serialization context as the SDK's does, unentered.

`passerelle.platform.sandbox`'s runner (on the SDK versions the suite runs on, the shortcut of
`passerelle.platform.sdk_shortcuts`) reads the context from the instance inside the sandbox
instead of executing code in it. Same instance details, same command: the same context as the
SDK's own runner, and no code run in the sandbox to get it. Every workflow test then runs on this runner, as
workers do, and the data-key tests show each payload sealed under its own collaboration's key.
"""

import dataclasses
from typing import Any

import pytest
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import CommandType
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter, WorkflowSerializationContext
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _fake_info
from temporalio.workflow import _Definition

from passerelle.platform.worker import workflow_runner
from workflows.collaboration import CollaborationWorkflow


def details() -> WorkflowInstanceDetails:
    info = dataclasses.replace(_fake_info, namespace="programmes", workflow_id="collab-natixis-nabla")
    return WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=_Definition.must_from_class(CollaborationWorkflow),
        info=info,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )


COMMANDS = [
    None,
    CommandInfo(command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, command_seq=7),
    CommandInfo(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, command_seq=1),
]


@pytest.mark.parametrize("command", COMMANDS)
async def test_the_context_is_the_sdk_one_and_no_code_runs_in_the_sandbox(command: Any) -> None:
    ours = workflow_runner()
    sdk = SandboxedWorkflowRunner(restrictions=ours.restrictions)
    mine, theirs = ours.create_instance(details()), sdk.create_instance(details())
    ran: list[str] = []
    original = mine._run_code  # type: ignore[attr-defined]
    mine._run_code = lambda code, **extra: (ran.append(code), original(code, **extra))  # type: ignore[attr-defined]
    context = mine.get_serialization_context(command)
    assert context == theirs.get_serialization_context(command)
    assert context == WorkflowSerializationContext(namespace="programmes", workflow_id="collab-natixis-nabla")
    assert mine.get_external_store_context(command) == theirs.get_external_store_context(command)
    assert ran == []
