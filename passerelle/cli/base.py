"""What every command shares, at no import cost: one-line errors, exit codes, JSON, the RPC runner.

A command that reads no payload (`list`) runs on this module and `passerelle.platform.service`
alone; the others add `passerelle.cli.common` (the client with the settings' converter).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from passerelle.platform.callers import Caller, OutsideScope, choose, scope_of, settle
from passerelle.platform.service import service_for
from passerelle.platform.settings import Settings, in_namespace, load_settings

T = TypeVar("T")

BAD_INPUT = 2  # exit code for input refused before or by Temporal
FAILURE = 1  # exit code for anything else (unreachable server, unknown id...)


class CliError(Exception):
    """An error shown as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code


def rpc_error(err: RPCError) -> CliError:
    """Return the one-line error of a refused request."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return CliError(f"not found: {err.message}")
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return CliError(f"invalid: {err.message}", BAD_INPUT)
    return CliError(f"Temporal refused the request: {err.message}")


async def namespace_exists(service: ServiceClient, namespace: str) -> bool:
    """Return whether the server holds `namespace`."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

    try:
        await service.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def in_scope(settings: Settings, *, temporal: bool = True) -> tuple[Settings, Caller]:
    """Return the settings of the namespace the caller's command acts in, and the caller
    (`passerelle.platform.callers`); a command that does not reach Temporal (`temporal=False`)
    keeps the settings' namespace."""
    caller = choose(settings, await scope_of(settings))
    if not temporal:
        return replace(settings, programme=caller.programme), caller
    if caller.programme is None:  # the shared namespace: nothing to look up
        return await settle(settings, caller, _never), caller
    if not caller.scope.reads(caller.programme):
        raise OutsideScope(
            f"a sponsor of programme {caller.programme} reads its report and its export only "
            "(passerelle report, passerelle export)"
        )
    service = await service_for(settings)

    async def exists(namespace: str) -> bool:
        return await namespace_exists(service, namespace)

    return await settle(settings, caller, exists), caller


async def locate(settings: Settings, workflow_id: str) -> Settings:
    """Return the settings of the namespace that runs `workflow_id`, among the caller's: the one
    chosen, the shared one (collaborations begun before their programme had a namespace of its
    own; there, only one of the chosen programme's), and, for a caller of every programme, each
    programme's. Unchanged when none does: the command then says it is not found. Two namespaces
    that each run one are refused in one line: the caller says which with `--programme`."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
    from temporalio.converter import decode_typed_search_attributes

    from passerelle.platform.provision import programme_namespaces
    from schemas.actors import programme_slug
    from workflows.search_attributes import PROGRAMME

    service = await service_for(settings)
    shared = settings.namespaces.shared
    candidates = [settings.namespace, shared]
    if settings.programme is None:
        candidates += sorted(await programme_namespaces(service, settings.namespaces))
    found = []
    for namespace in dict.fromkeys(candidates):
        request = DescribeWorkflowExecutionRequest(
            namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
        try:
            described = await service.workflow_service.describe_workflow_execution(request)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        if namespace == shared and settings.programme is not None:
            attributes = decode_typed_search_attributes(described.workflow_execution_info.search_attributes)
            if programme_slug(attributes.get(PROGRAMME) or "") != settings.programme:
                continue  # another programme's collaboration of that id
        found.append(namespace)
    if len(found) > 1:
        raise CliError(f"{workflow_id} runs in {', '.join(found)}: say which programme with --programme")
    return in_namespace(settings, found[0]) if found else settings


async def _never(namespace: str) -> bool:
    return False


def run_service(make: Callable[[Settings, ServiceClient], Awaitable[T]]) -> T:
    """Connect to the environment's Temporal services and run `make(settings, service)` in the
    caller's programme's namespace."""

    async def main() -> T:
        try:
            settings, _ = await in_scope(load_settings())
            return await make(settings, await service_for(settings))
        except RPCError as err:
            raise rpc_error(err) from None

    return asyncio.run(main())


def print_json(value: Any) -> None:
    """Print a model or plain value as JSON for scripts."""
    dump = getattr(value, "model_dump_json", None)  # a pydantic model, without importing pydantic
    print(dump(indent=2) if dump is not None else json.dumps(value, indent=2, default=str))
