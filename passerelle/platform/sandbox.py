"""The workflows' sandbox, asked for each payload's serialization context without being entered.

The SDK converts every payload of a workflow task with the serialization context of the command
it belongs to (the activity's type and id for its input, the workflow's id otherwise): that is
what binds an encrypted payload to its collaboration (`passerelle.platform.envelope`). For a
sandboxed workflow it asks the instance inside the sandbox by compiling and executing a code
string under the sandbox's importer, for every payload sequence on the way in, again on the way
out, and again for external storage: a fifth of a worker's CPU under the lifecycle benchmark
(docs/benchmarks.md, "Where the lifecycle's time goes"). The answer is bookkeeping of the SDK's
own instance (`_WorkflowInstanceImpl.get_serialization_context`: a lookup of the pending command,
then a frozen dataclass), which imports nothing and calls nothing the sandbox restricts, so
asking it directly gives the same context for a fraction of the cost. The workflow code itself
still runs in the sandbox, under its restrictions, on every activation.

This leans on the SDK's sandbox internals (`_Instance` and the name it gives its in-sandbox
instance); `tests/unit/test_sandbox_contexts.py` checks the answers against the SDK's own path,
and an instance without the expected internals is asked the SDK's way.
"""

from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

IN_SANDBOX = "__temporal_in_sandbox"  # where `_Instance` keeps the instance it created in the sandbox


class _DirectContexts(_Instance):
    """The SDK's sandboxed instance; contexts are read from its in-sandbox instance directly."""

    def get_serialization_context(self, command_info: Any) -> Any:
        inner: Any = self.globals_and_locals.get(IN_SANDBOX)
        if inner is None:
            return super().get_serialization_context(command_info)
        return inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        inner: Any = self.globals_and_locals.get(IN_SANDBOX)
        if inner is None:
            return super().get_external_store_context(command_info)
        return inner.get_external_store_context(command_info)


class DirectContextRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances answer serialization contexts directly."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """Create the sandboxed instance (as the SDK does) with direct contexts."""
        return _DirectContexts(det, self.runner_class, self.restrictions)
