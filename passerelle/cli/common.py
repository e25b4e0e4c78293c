"""What the commands that read payloads share: the client with the settings' converter, the database.

The errors and the JSON printer come from `passerelle.cli.base`, which `list` uses alone.
"""

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from passerelle.cli.base import BAD_INPUT, FAILURE, CliError, in_scope, locate, print_json, rpc_error
from passerelle.platform.callers import Caller
from passerelle.platform.client import client_for, store_for
from passerelle.platform.programmes import slug_of
from passerelle.platform.settings import Settings, load_settings
from schemas import describe_validation_error

__all__ = ["BAD_INPUT", "FAILURE", "CliError", "build", "print_json", "run"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# The options every steering command shares.
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]
By = Annotated[str, typer.Option("--by", help="Who does it (name or e-mail)")]


def build(model: type[M], data: dict[str, Any], what: str) -> M:
    """Validate `data` into `model` or raise a CliError naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise CliError(describe_validation_error(err, what, keys=True), BAD_INPUT) from None


def run(
    make: Callable[[Settings, Client], Awaitable[T]],
    programme: str | None = None,
    workflow_id: str | None = None,
) -> T:
    """Connect with the environment's settings and run `make(settings, client)` in the namespace
    of the caller's programme (`programme`, a name or slug, when the command's input names one),
    or the caller's namespace that runs `workflow_id` (`passerelle.cli.base.locate`)."""

    async def scoped(settings: Settings, client: Client, _: Caller) -> T:
        return await make(settings, client)

    return run_as(scoped, programme, workflow_id)


def run_as(
    make: Callable[[Settings, Client, Caller], Awaitable[T]],
    programme: str | None = None,
    workflow_id: str | None = None,
) -> T:
    """`run`, telling `make` who the caller is too (`passerelle.platform.callers.Caller`): for a
    command that finds rows or collaborations within the caller's programmes."""

    async def main() -> T:
        settings = with_key_store(load_settings())
        if programme is not None:
            settings = dataclasses.replace(settings, programme=within(settings.programme, programme))
        settings, caller = await in_scope(settings)
        if workflow_id is not None:
            settings = await locate(settings, workflow_id)
        client = await client_for(settings)
        try:
            return await make(settings, client, caller)
        except WorkflowQueryFailedError as err:
            raise CliError(f"the workflow could not answer: {err.message}") from None
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = getattr(cause, "message", None) or str(cause or err)
            raise CliError(f"refused: {message}", BAD_INPUT) from None
        except RPCError as err:
            raise rpc_error(err) from None

    return asyncio.run(main())


def within(chosen: str | None, named: str) -> str:
    """Return the slug of the programme an input names, refusing one other than `--programme`."""
    slug = slug_of(named)
    if chosen is not None and chosen != slug:
        raise CliError(f"programme: {named!r} is not programme {chosen} (--programme)", BAD_INPUT)
    return slug


def caller_within(named: str | None = None) -> Caller:
    """Return the caller of a command that reads PostgreSQL only (`passerelle.platform.callers`):
    within the programme its own option names (`named`, a name or slug), which must be
    `--programme`'s when both are given, and which the caller must hold a role in."""

    async def main() -> Caller:
        settings = load_settings()
        if named is not None:
            settings = dataclasses.replace(settings, programme=within(settings.programme, named))
        return (await in_scope(settings, temporal=False))[1]

    return asyncio.run(main())


def with_key_store(settings: Settings) -> Settings:
    """Return the settings with the running `passerelle dev`'s database when none is set.

    Payloads are sealed with each collaboration's data key, which lives in PostgreSQL: a command
    of the dev stack reads the keys where its worker keeps them.
    """
    if settings.database_url or not settings.encryption_keys:
        return settings
    from passerelle.devstack.servers import running_postgres_url  # the dev stack only, when asked

    url = running_postgres_url(settings.state_dir)
    return settings if url is None else dataclasses.replace(settings, database_url=url)


async def erasure_note(settings: Settings, client: Client, workflow_id: str) -> str | None:
    """Return why a collaboration cannot be read when its latest run names a destroyed data key."""
    from passerelle.audit.histories import Run
    from passerelle.audit.keys import erasure_of

    store = store_for(settings)
    if store is None:
        return None
    handle = client.get_workflow_handle(workflow_id)
    run = Run(workflow_id, "", await handle.fetch_history())
    gone = await erasure_of(run, store)
    if gone is None:
        return None
    return (
        f"{workflow_id} was erased: its data key was destroyed at {gone.at.isoformat(timespec='seconds')} "
        f"by {gone.by or 'unknown'}{f' ({gone.reason})' if gone.reason else ''}; its history can no longer "
        "be decrypted (docs/privacy.md)"
    )


async def failure_note(client: Client, workflow_id: str) -> str | None:
    """Return why a collaboration's latest run failed, or None when it did not fail.

    A run whose start input was invalid fails at once and cannot answer a query: its failure names
    the field and the rule (`schemas.errors`), which is what the operator who typed it needs.
    """
    handle = client.get_workflow_handle(workflow_id)
    if (await handle.describe()).status != WorkflowExecutionStatus.FAILED:
        return None
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as err:
        cause = err.cause
        return f"{workflow_id} failed: {getattr(cause, 'message', None) or cause}"
    return None


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
        from passerelle.devstack.servers import embedded_postgres

        with embedded_postgres(state_dir or settings.state_dir) as url:
            yield url


NO_DATABASE = "PASSERELLE_DATABASE_URL is not set and no passerelle dev is running"


def running_database_url(settings: Settings, state_dir: Path | None) -> str | None:
    """Return PASSERELLE_DATABASE_URL, or the running `passerelle dev`'s database, or None.

    For commands that only read: unlike `database_url`, it never starts a PostgreSQL of its own.
    """
    if settings.database_url:
        return settings.database_url
    from passerelle.devstack.servers import running_postgres_url

    return running_postgres_url(state_dir or settings.state_dir)
