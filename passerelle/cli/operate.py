"""Operator commands: start a collaboration, and read its status (`passerelle.cli.updates` steers it).

`start` validates its request locally with the workflow's own schema before it calls Temporal.
Bad input prints one clear line and exits 2.
"""

import asyncio
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError

from passerelle.cli.common import (
    BAD_INPUT,
    NO_DATABASE,
    CliError,
    Json,
    StateDir,
    build,
    erasure_note,
    failure_note,
    print_json,
    run,
    running_database_url,
)
from passerelle.cli.output import show_status
from passerelle.intake.files import FileRefused, read_json_object
from passerelle.intake.ids import default_workflow_id
from passerelle.platform.settings import Settings, load_settings
from schemas import (
    CollaborationRequest,
    CollaborationStatus,
    HistoryEntry,
)
from workflows.collaboration import CollaborationWorkflow


def _show(status: CollaborationStatus, as_json: bool) -> None:
    print_json(status) if as_json else show_status(status)


def start(
    file: Annotated[Path | None, typer.Option(help="JSON file: the Web UI's Start Workflow input")] = None,
    corporate: Annotated[str | None, typer.Option()] = None,
    corporate_email: Annotated[str | None, typer.Option()] = None,
    startup: Annotated[str | None, typer.Option()] = None,
    startup_email: Annotated[str | None, typer.Option()] = None,
    startup_label: Annotated[str | None, typer.Option()] = None,
    programme: Annotated[str | None, typer.Option()] = None,
    topic: Annotated[str | None, typer.Option()] = None,
    sector: Annotated[str | None, typer.Option()] = None,
    owner_email: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option()] = None,
    stall: Annotated[list[str] | None, typer.Option(help="STAGE=DAYS, repeatable")] = None,
    workflow_id: Annotated[str | None, typer.Option("--id", help="Workflow id")] = None,
    as_json: Json = False,
) -> None:
    """Start a collaboration from flags or from --file request.json."""
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = read_json_object(file, max_bytes=1024 * 1024)
        except FileRefused as err:
            raise CliError(str(err), BAD_INPUT) from None
    for key, party, value in [
        ("name", "corporate", corporate),
        ("contact_email", "corporate", corporate_email),
        ("name", "startup", startup),
        ("contact_email", "startup", startup_email),
        ("label", "startup", startup_label),
    ]:
        if value is not None:
            data.setdefault(party, {})[key] = value
    flags = {
        "programme": programme,
        "topic": topic,
        "sector": sector,
        "owner_email": owner_email,
        "language": language,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    for item in stall or []:
        stage, _, days = item.partition("=")
        data.setdefault("stall_after_days", {})[stage] = days
    request = build(CollaborationRequest, data, "collaboration request")
    wid = workflow_id or default_workflow_id(request)

    async def go(settings: Settings, client: Client) -> CollaborationStatus:
        try:
            handle = await client.start_workflow(
                CollaborationWorkflow.run,
                request,
                id=wid,
                task_queue=settings.task_queue,
                static_summary=f"{request.corporate.name} × {request.startup.name}: {request.topic}",
            )
        except WorkflowAlreadyStartedError:
            raise CliError(
                f"a collaboration between {request.corporate.name} and {request.startup.name} is "
                f"already running as {wid}; steer it, or close it before starting another",
                BAD_INPUT,
            ) from None
        return await _wait_status(handle)

    status = run(go, programme=request.programme)
    if as_json:
        print_json(status)
    else:
        typer.echo(f"started {wid}: {status.corporate} × {status.startup} in {status.stage}")


async def _wait_status(handle: WorkflowHandle[Any, Any]) -> CollaborationStatus:
    """Query status, waiting for the first workflow task to have run."""
    for _ in range(100):
        try:
            status: CollaborationStatus = await handle.query(CollaborationWorkflow.status)
            return status
        except Exception:
            await asyncio.sleep(0.1)
    return await handle.query(CollaborationWorkflow.status)


def status(
    workflow_id: str,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Show only the last N entries")] = None,
    state_dir: StateDir = None,
    as_json: Json = False,
) -> None:
    """Show a collaboration's stage, SLA, reminders and its history from PostgreSQL."""

    async def go(settings: Settings, client: Client) -> CollaborationStatus:
        try:
            result: CollaborationStatus = await client.get_workflow_handle(workflow_id).query(
                CollaborationWorkflow.status
            )
        except WorkflowQueryFailedError:
            note = await erasure_note(settings, client, workflow_id) or await failure_note(
                client, workflow_id
            )
            if note is None:
                raise
            raise CliError(note) from None
        return result

    current = run(go, workflow_id=workflow_id)
    settings = load_settings()
    url = running_database_url(settings, state_dir)
    try:
        if url is None:
            raise OSError(NO_DATABASE)
        recorded = asyncio.run(_recorded(url, current.collaboration_id, last))
    except (OSError, asyncpg.PostgresError) as err:
        typer.echo(
            f"warning: cannot read the history from PostgreSQL ({str(err) or type(err).__name__}); "
            f"showing the latest {len(current.history)} entries the workflow keeps",
            err=True,
        )
        recorded = current.history[-last:] if last else current.history
    _show(current.model_copy(update={"history": recorded}), as_json)


async def _recorded(url: str, collaboration_id: str, last: int | None) -> list[HistoryEntry]:
    # Only `status` reads PostgreSQL: the other commands of this module load no pool or logger.
    from passerelle.platform.db import create_pool
    from passerelle.reads.history import entries

    pool = await create_pool(url, max_size=1)
    try:
        return [e async for e in entries(pool, collaboration_id, last)]
    finally:
        await pool.close()


def register(app: typer.Typer) -> None:
    """Add the operator commands to the app."""
    for command in (start, status):
        app.command()(command)
