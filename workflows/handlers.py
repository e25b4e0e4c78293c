"""Each declared update becomes a handler and a validator of the workflow class.

`declared_updates` adds one `@workflow.update` method per `Update` of `workflows.domain.updates`,
named as the update and described by its text (the Web UI lists both). Each delegates to the
workflow's `_check` (decode the request, run the rule) and `_apply` (apply the operation): the
update's name, model, rule and operation are written once, in its declaration.

The handlers take the payload itself (`RawValue`), not the model: the SDK would otherwise decode
the argument before the validator runs and refuse a bad one with only "Failed decoding arguments",
and the codec's mark of who sent it (`schemas.actors.ACTOR_MARK`) would be lost
(`workflows.requests.unwrap`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus
    from workflows.domain.update import Update
    from workflows.domain.updates import UPDATES

C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Judged:
    """What an update's validator decoded and its rule found, at the state's `version` (the
    workflow's count of changes): its handler, which runs next, applies it if nothing changed."""

    request: Any
    verdict: Any
    version: int


def update_id() -> str:
    """Return the id of the update being validated or handled."""
    info = workflow.current_update_info()
    assert info is not None, "called from an update's validator or handler"
    return info.id


def _handler(update: Update[Any, Any]) -> Callable[..., Any]:
    # `self` unannotated: the SDK reads the argument types of an annotated `self` as the first
    # argument's, and would decode the request as `Any`, dropping the codec's mark.
    async def handler(self, request: RawValue) -> CollaborationStatus:  # type: ignore[no-untyped-def]
        status: CollaborationStatus = await self._apply(update, request)
        return status

    def validator(self, request: RawValue) -> None:  # type: ignore[no-untyped-def]
        self._check(update, request)

    handler.__name__ = handler.__qualname__ = update.name
    handler.__doc__ = validator.__doc__ = update.doc
    declared = workflow.update(name=update.name, description=update.doc)(handler)
    declared.validator(validator)
    return declared


def declared_updates(cls: C) -> C:
    """Add a handler and its validator to `cls` for every declared update."""
    for update in UPDATES.values():
        setattr(cls, update.name, _handler(update))
    return cls
