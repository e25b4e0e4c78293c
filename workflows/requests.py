"""Decode a start input or an update's argument inside the workflow, refusing a bad one by field.

Update arguments arrive as plain JSON (`Any`), exactly as the Web UI's Send Update form sends
them. Were the handlers typed with the models, the SDK would decode before the validator runs and
reject a bad request with only "Failed decoding arguments"; decoding here gives the operator
`invalid advance: to: Input should be 'introduction', ...` instead. Pure: no I/O, no clock.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from schemas import CollaborationRequest, describe_validation_error
from schemas.actors import ACTOR_MARK, Marked, VerifiedActor
from schemas.fields import HIDDEN_CHARACTER
from workflows.domain.identity import NotVerified
from workflows.domain.transitions import Refused
from workflows.domain.updates import REFUSALS

# Input refused as invalid: the request does not decode, the start input is invalid (the workflow
# fails), a run whose input was invalid is asked something. Their messages name fields and rules,
# never values (`schemas.errors`), so like the rules' refusals they travel in clear
# (`passerelle.platform.client.RefusalsInClear`): the operator who typed the input reads what
# was wrong in the Web UI, the Temporal CLI and `passerelle status`.
INPUT_ERRORS = frozenset({"InvalidRequest", "InvalidCollaborationRequest", "NotStarted"})
IN_CLEAR = REFUSALS | INPUT_ERRORS

M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], request: Any, what: str, *, accepted: bool = False) -> M:
    """Return `request` as `model`, or raise a non-retryable ApplicationError naming each bad field.

    `accepted`: the update's validator accepted it (live), or history says it was (replay, where
    validators do not run): rules added since it was sent (context `legacy`) are not applied again.
    """
    if isinstance(request, model):
        return request
    try:
        return model.model_validate(request, context={"legacy": accepted})
    except ValidationError as err:
        message = describe_validation_error(err, what)
    raise ApplicationError(message, type="InvalidRequest", non_retryable=True)


def unwrap(
    raw: Any, what: str, *, accepted: bool = False, fills_by: bool = True
) -> tuple[Any, VerifiedActor | None]:
    """Return an update's argument and the actor the worker's codec verified (None: declared).

    The argument arrives as the payload itself (`RawValue`), so that the codec's mark
    (`schemas.actors.ACTOR_MARK`) is read with it. A statement that does not prove its actor is
    refused, whatever the worker's policy: it is a forgery or a fault, never a declared actor. A
    request that names its own `actor` is refused: only the mark says who acted. Without a
    typed `by`, the verified e-mail is it.
    """
    if isinstance(raw, Marked):  # a start input, which the run takes untyped
        value: Any = dict(raw)
        mark: bytes | None = raw.actor_mark
    elif isinstance(raw, RawValue):
        value, mark = (
            workflow.payload_converter().from_payload(raw.payload),
            raw.payload.metadata.get(ACTOR_MARK),
        )
    else:  # unmarked, or the tests' pure path (`tests.factories.apply`)
        return raw, None
    if isinstance(value, dict) and "actor" in value:
        raise ApplicationError(
            f"invalid {what}: actor: set from the sender's login by the codec server, never by the request",
            type="InvalidRequest",
            non_retryable=True,
        )
    if mark is None:
        return value, None
    finding = json.loads(mark)
    if "verified" not in finding:
        if accepted:
            # History says the update was accepted: its statement held then. A process that
            # cannot prove it now (a key it lacks) applies it as declared rather than refuse
            # what history records, with the e-mail the statement claims where `by` was left
            # out; the audit says which actors it could not prove.
            claimed = finding.get("claimed_email")
            if fills_by and isinstance(value, dict) and "by" not in value and isinstance(claimed, str):
                value = {**value, "by": claimed}
            return value, None
        raise ApplicationError(str(finding.get("unproven")), type=NotVerified.type, non_retryable=True)
    actor = VerifiedActor.model_validate(finding["verified"])
    if fills_by and isinstance(value, dict) and "by" not in value and actor.email and actor.via == "codec":
        value = {**value, "by": actor.email}
    return value, actor


def unwrap_start(raw: Any, *, accepted: bool = False) -> tuple[Any, VerifiedActor | None]:
    """Return a start input and the actor its statement proves (None: declared, or a run
    continued from another, whose input the worker wrote). An input that is not a payload of
    JSON is handed on as it is, for `decode_start` to say what is wrong with it. `accepted`: the
    run is replayed, and its start was judged when it began (`unwrap`)."""
    try:
        return unwrap(raw, "collaboration request", accepted=accepted, fills_by=False)
    except ApplicationError:
        raise
    except Exception:
        return raw, None


def decode_update(model: type[M], raw: Any, what: str, *, accepted: bool = False) -> M:
    """Return an update's request as `model`, carrying its verified actor (`unwrap`)."""
    value, actor = unwrap(raw, what, accepted=accepted)
    request = parse_request(model, value, what, accepted=accepted)
    return request.model_copy(update={"actor": actor}) if actor is not None else request


def _only_hidden(err: ValidationError) -> bool:
    return all(e["type"] == HIDDEN_CHARACTER for e in err.errors())


def decode_start(request: Any, strict: bool, refuses_hidden: Callable[[], bool]) -> CollaborationRequest:
    """Validate the start input; fail the workflow at once, naming each bad field.

    The input arrives as plain JSON (`Any`): decoding it into the model before `run` would
    fail the workflow *task*, which Temporal retries forever: the SDK does not turn an input
    that cannot be decoded into a workflow failure. Failing the workflow instead ends it within
    seconds with a message an operator can act on. Not `strict`: a run begun before the stall
    threshold floor, replayed as it ran. A name with a hidden character (`schemas.fields`) is
    refused when `refuses_hidden()` says so: it is asked only of such an input, so that a run
    begun before that rule replays as it ran.
    """
    try:
        if isinstance(request, RawValue):
            request = workflow.payload_converter().from_payload(request.payload)
        return CollaborationRequest.model_validate(request, context={"legacy": not strict})
    except ValidationError as err:
        if _only_hidden(err) and not refuses_hidden():
            context = {"legacy": not strict, "hidden_allowed": True}
            return CollaborationRequest.model_validate(request, context=context)
        message = describe_validation_error(err, "collaboration request")
    except Exception:
        message = "invalid collaboration request: input is not a JSON object"
    raise ApplicationError(message, type="InvalidCollaborationRequest", non_retryable=True)


@contextmanager
def refusal() -> Iterator[None]:
    """Raise a rule's refusal as a final (non-retryable) failure of its stable type."""
    try:
        yield
    except Refused as err:
        raise ApplicationError(str(err), type=err.type, non_retryable=True) from None
