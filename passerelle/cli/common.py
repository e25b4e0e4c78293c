"""What every command shares: running async code, clear one-line errors, the client, the database."""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from passerelle.devstack.servers import embedded_postgres, running_postgres_url
from passerelle.platform.client import client_for
from passerelle.platform.settings import Settings, load_settings
from schemas import describe_validation_error

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

BAD_INPUT = 2  # exit code for input refused before or by Temporal
FAILURE = 1  # exit code for anything else (unreachable server, unknown id...)


class CliError(Exception):
    """An error shown as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code


def build(model: type[M], data: dict[str, Any], what: str) -> M:
    """Validate `data` into `model` or raise a CliError naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise CliError(describe_validation_error(err, what), BAD_INPUT) from None


def run(make: Callable[[Settings, Client], Awaitable[T]]) -> T:
    """Connect with the environment's settings and run `make(settings, client)`."""

    async def main() -> T:
        settings = load_settings()
        client = await client_for(settings)
        try:
            return await make(settings, client)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = getattr(cause, "message", None) or str(cause or err)
            raise CliError(f"refused: {message}", BAD_INPUT) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise CliError(f"not found: {err.message}") from None
            if err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise CliError(f"invalid: {err.message}", BAD_INPUT) from None
            raise CliError(f"Temporal refused the request: {err.message}") from None

    return asyncio.run(main())


def print_json(value: Any) -> None:
    """Print a model or plain value as JSON for scripts."""
    if isinstance(value, BaseModel):
        print(value.model_dump_json(indent=2))
    else:
        print(json.dumps(value, indent=2, default=str))


StateDir = Annotated[
    Path | None, typer.Option(help="State folder (default: $PASSERELLE_STATE_DIR or .passerelle)")
]


@contextlib.contextmanager
def database_url(state_dir: Path | None) -> Iterator[str]:
    """Yield PASSERELLE_DATABASE_URL, or the embedded PostgreSQL's URL when it is unset."""
    settings = load_settings()
    if settings.database_url:
        yield settings.database_url
    else:
        with embedded_postgres(state_dir or settings.state_dir) as url:
            yield url


NO_DATABASE = "PASSERELLE_DATABASE_URL is not set and no passerelle dev is running"


def running_database_url(settings: Settings, state_dir: Path | None) -> str | None:
    """Return PASSERELLE_DATABASE_URL, or the running `passerelle dev`'s database, or None.

    For commands that only read: unlike `database_url`, it never starts a PostgreSQL of its own.
    """
    return settings.database_url or running_postgres_url(state_dir or settings.state_dir)
