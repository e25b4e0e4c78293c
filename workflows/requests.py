"""Decode an update's argument inside the workflow, so a bad one is refused naming each field.

Update arguments arrive as plain JSON (`Any`), exactly as the Web UI's Send Update form sends
them. Were the handlers typed with the models, the SDK would decode before the validator runs and
reject a bad request with only "Failed decoding arguments"; decoding here gives the operator
`invalid advance: to: Input should be 'introduction', ...` instead. Pure: no I/O, no clock.
"""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from schemas import describe_validation_error

M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], request: Any, what: str) -> M:
    """Return `request` as `model`, or raise a non-retryable ApplicationError naming each bad field."""
    if isinstance(request, model):
        return request
    try:
        return model.model_validate(request)
    except ValidationError as err:
        message = describe_validation_error(err, what)
    raise ApplicationError(message, type="InvalidRequest", non_retryable=True)
