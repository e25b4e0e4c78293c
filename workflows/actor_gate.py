"""The worker's policy for human actions without a verified actor (`PASSERELLE_ACTORS`).

`verified` (the default) refuses, before the workflow's own validator runs, every declared
update whose payload carries no actor mark (`schemas.actors.ACTOR_MARK`): nothing signed who sent
it, so the workflow cannot say who acted. `declared`, for a deployment's migration window, lets
such an update through; the workflow records its typed `by` as declared. Either way, a payload
whose statement does not hold is refused by the workflow (`workflows.requests.unwrap`), and a
verified actor is held to its roles and its address (`workflows.domain.identity`).

An interceptor, not workflow state: the policy is the worker's, and a validator reads it only
live (validators never run on replay), so a history replays the same whatever the policy now.
"""

from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from schemas.actors import ACTOR_MARK
    from workflows.domain.identity import NotVerified
    from workflows.domain.updates import UPDATES

UNVERIFIED = (
    "no verified actor: send the action with your login, through `passerelle` after "
    "`passerelle login`, or the Web UI's codec server"
)


def _marked(args: Any) -> bool:
    return bool(args) and isinstance(args[0], RawValue) and ACTOR_MARK in args[0].payload.metadata


class _RefuseUnverified(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if input.update in UPDATES and not _marked(input.args):
            raise ApplicationError(UNVERIFIED, type=NotVerified.type, non_retryable=True)
        self.next.handle_update_validator(input)


class RequireVerifiedActors(Interceptor):
    """Add to a worker whose settings require verified actors."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _RefuseUnverified
