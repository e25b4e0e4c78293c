"""`passerelle import FILE.csv` and `passerelle demo`: bring collaborations in from a spreadsheet.

Rows with errors are printed by line and column on stderr; the valid rows still import. A re-run
imports nothing twice (see `passerelle.intake.rows`). Exit code 2 when any row had an error.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities import playbooks as store
from passerelle.cli.common import BAD_INPUT, CliError, StateDir, database_url, run
from passerelle.devstack.demo import (
    DEMO_STALL_DAYS,
    STALLING_PROGRAMME,
    demo_csv,
    demo_playbooks,
    demo_rows,
    stalling_requests,
)
from passerelle.intake.files import FileRefused, read_text
from passerelle.intake.rows import ImportResult, ImportRow, parse_csv, start_imports, wait_recorded
from passerelle.platform.db import create_pool
from passerelle.platform.settings import Settings
from schemas import CollaborationRequest
from workflows.collaboration import CollaborationWorkflow

Concurrency = Annotated[int, typer.Option(min=1, max=64, help="Workflows started at once")]


def _start(rows: list[ImportRow], concurrency: int, state_dir: Path | None) -> ImportResult:
    with database_url(state_dir) as url:

        async def go(settings: Settings, client: Client) -> ImportResult:
            pool = await create_pool(url, max_size=2)
            try:
                with Progress(transient=True) as progress:
                    task = progress.add_task("starting", total=len(rows))
                    result = await start_imports(
                        client,
                        rows,
                        settings.task_queue,
                        pool=pool,
                        concurrency=concurrency,
                        on_done=lambda row, started: progress.advance(task),
                    )
                    # The report reads the records: wait for the workers to write them.
                    task = progress.add_task("recording", total=len(result.started))
                    recorded = await wait_recorded(
                        pool, result.started, on_progress=lambda n: progress.update(task, completed=n)
                    )
                if recorded < len(result.started):
                    typer.secho(
                        f"{len(result.started) - recorded} started collaboration(s) not recorded yet: "
                        "is a worker running?",
                        err=True,
                        fg="yellow",
                    )
                return result
            finally:
                await pool.close()

        return run(go)


def import_file(file: Path, concurrency: int, state_dir: Path | None, dry_run: bool = False) -> None:
    """Check every row of `file`, start the valid ones, report errors and counts."""
    try:
        text = read_text(file)
    except FileRefused as err:
        raise CliError(str(err), BAD_INPUT) from None
    rows, errors = parse_csv(text, file.name, datetime.now(UTC).date())
    for error in errors:
        typer.secho(str(error), err=True, fg="yellow")
    bad_lines = len({e.line for e in errors})
    if dry_run:
        typer.echo(f"{len(rows)} valid row(s), {bad_lines} row(s) with errors; nothing started (dry run)")
    else:
        result = _start(rows, concurrency, state_dir) if rows else ImportResult()
        typer.echo(
            f"{len(result.started)} started, {len(result.skipped)} skipped (already imported), "
            f"{bad_lines} row(s) with errors"
        )
    if errors:
        raise CliError(f"{len(errors)} error(s) in {file}; fix them and run the import again", BAD_INPUT)


def import_command(
    file: Annotated[Path, typer.Argument(help="CSV file with the columns of examples/import-template.csv")],
    concurrency: Concurrency = 8,
    dry_run: Annotated[bool, typer.Option(help="Check the file only")] = False,
    state_dir: StateDir = None,
) -> None:
    """Start one collaboration per row of a CSV file, at its current stage, with its past dates."""
    import_file(file, concurrency, state_dir, dry_run)


def demo(
    file: Annotated[Path, typer.Option(help="Where to write the demo CSV")] = Path("passerelle-demo.csv"),
    collaborations: Annotated[int, typer.Option(min=1, max=5000)] = 500,
    corporates: Annotated[int, typer.Option(min=1, max=200)] = 90,
    startups: Annotated[int, typer.Option(min=1, max=240)] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same day: same file")] = 2026,
    write_only: Annotated[bool, typer.Option(help="Write the CSV, do not import it")] = False,
    concurrency: Concurrency = 8,
    state_dir: StateDir = None,
) -> None:
    """Write a realistic demo spreadsheet and import it through the real workflows."""
    if collaborations > corporates * startups:
        too_many = f"{corporates} × {startups} pairs cannot hold {collaborations} collaborations"
        raise CliError(too_many, BAD_INPUT)
    rows = demo_rows(
        datetime.now(UTC).date(),
        seed=seed,
        corporates=corporates,
        startups=startups,
        collaborations=collaborations,
    )
    file.write_text(demo_csv(rows))
    typer.echo(f"wrote {len(rows)} collaborations to {file}")
    if not write_only:
        for line in apply_demo_playbooks(state_dir):
            typer.echo(line)
        import_file(file, concurrency, state_dir)
        start_stalling()


def start_stalling() -> None:
    """Start the demo's collaborations that stall within minutes (again: already running, kept)."""

    async def go(settings: Settings, client: Client) -> list[str]:
        started = []
        for workflow_id, data in stalling_requests():
            request = CollaborationRequest.model_validate(data)
            try:
                await client.start_workflow(
                    CollaborationWorkflow.run, request, id=workflow_id, task_queue=settings.task_queue
                )
            except WorkflowAlreadyStartedError:
                continue
            started.append(workflow_id)
        return started

    started = run(go)
    minutes = round(DEMO_STALL_DAYS * 24 * 60)
    typer.echo(
        f"{len(started)} live collaboration(s) of {STALLING_PROGRAMME} stall in about {minutes} minutes "
        f"({', '.join(w for w, _ in stalling_requests())}): their reminders carry the partners' one-click "
        "links (with `passerelle dev --smtp-sink`, in the state folder's mail/)"
    )


def apply_demo_playbooks(state_dir: Path | None) -> list[str]:
    """Apply the demo programmes' playbooks (idempotent), so imported collaborations run under them."""

    async def go(url: str) -> list[str]:
        pool = await create_pool(url, max_size=1)
        try:
            done = [
                await store.apply(pool, f.playbook, f.source, "passerelle demo") for f in demo_playbooks()
            ]
        finally:
            await pool.close()
        return [f"playbook {d.version.label} {'applied' if d.created else 'unchanged'}" for d in done]

    with database_url(state_dir) as url:
        return asyncio.run(go(url))


def register(app: typer.Typer) -> None:
    """Add `import` and `demo` to the app."""
    app.command("import")(import_command)
    app.command()(demo)
