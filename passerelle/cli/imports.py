"""`passerelle import FILE` and `passerelle demo`: bring collaborations in from a spreadsheet.

The file is an Excel workbook or a CSV file, as a French Excel writes it or any other; it is read
one row at a time and started in batches, so a long file imports in flat memory with a progress
bar. Rows with errors are printed by sheet, row and column on stderr; the valid rows still import.
A re-run imports nothing twice (see `passerelle.intake.rows`), so an interrupted import resumes by
running it again. Exit code 2 when any row had an error.

Each row starts in its programme's namespace when the programme has one, in the shared namespace
otherwise (`--shared`: always there). A caller imports into the programmes they hold a role in
(not `sponsor`), and only into `--programme` when it is given: a file with a row of another
programme is refused in one line naming that row and its programme, before anything starts (the
file is read twice then: once to check, once to start).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities import playbooks as store
from passerelle.cli.base import namespace_exists, rpc_error
from passerelle.cli.common import BAD_INPUT, CliError, StateDir, database_url, run, with_key_store
from passerelle.cli.consoles import plain_console
from passerelle.devstack.demo import (
    DEMO_STALL_DAYS,
    STALLING_PROGRAMME,
    demo_csv,
    demo_playbooks,
    demo_rows,
    stalling_requests,
)
from passerelle.intake.cells import DateFormat
from passerelle.intake.columns import parse_maps
from passerelle.intake.files import FileRefused
from passerelle.intake.rows import ImportRow, ReadOptions, RowError, parse_table
from passerelle.intake.sheets import open_table
from passerelle.intake.starts import ImportResult, start_imports, wait_recorded
from passerelle.platform.callers import Caller, choose, scope_of, settle
from passerelle.platform.client import client_for
from passerelle.platform.db import create_pool
from passerelle.platform.scope import Scope
from passerelle.platform.settings import Settings, load_settings
from schemas import CollaborationRequest
from schemas.actors import programme_slug
from workflows.collaboration import CollaborationWorkflow

Concurrency = Annotated[int, typer.Option(min=1, max=64, help="Workflows started at once")]
BATCH = 500  # rows held at once: started, then let go


class _Tally:
    """What the import saw, counted as it goes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.valid = 0
        self.bad_rows: set[int] = set()
        self.errors = 0
        self.result = ImportResult()

    def valid_rows(self, items: Iterator[ImportRow | RowError]) -> Iterator[ImportRow]:
        """Print each error as it comes and pass the valid rows on."""
        for item in items:
            if isinstance(item, RowError):
                self.errors += 1
                self.bad_rows.add(item.row)
                self.console.print(str(item), style="yellow", markup=False, highlight=False)
            else:
                self.valid += 1
                yield item


def _batches(rows: Iterator[ImportRow]) -> Iterator[list[ImportRow]]:
    batch: list[ImportRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# Every valid row of the file, read again from its start (errors left to the import's own reading).
Reread = Callable[[], Iterator[ImportRow]]


def check_programmes(rows: Iterator[ImportRow], source: str, scope: Scope, chosen: str | None) -> None:
    """Refuse the file at its first row of a programme outside the caller's roles (or other than
    `--programme`, `chosen`), in one line naming the row and the programme."""
    for row in rows:
        programme, slug = row.request.programme, programme_slug(row.request.programme)
        if chosen is not None and slug != chosen:
            why = f"is not programme {chosen} (--programme)"
        elif not scope.reads(slug):
            why = "is not one of yours: your login holds no role there that imports"
        else:
            continue
        raise CliError(
            f"{source}, row {row.row}: programme {programme!r} ({slug}) {why}; nothing was imported",
            BAD_INPUT,
        )


def importer(source: str, reread: Reread) -> Scope:
    """Return who imports, once every row of the file is of their programmes (`check_programmes`)."""
    settings = load_settings()

    async def ask() -> Scope:
        return await scope_of(settings)

    scope = asyncio.run(ask())
    if settings.programme is not None:
        choose(settings, scope)  # a programme the login holds no role in: one line
    if settings.programme is not None or not scope.every_programme:
        check_programmes(reread(), source, scope, settings.programme)
    return scope


def _start(
    tally: _Tally,
    rows: Iterator[ImportRow],
    total: int | None,
    concurrency: int,
    state_dir: Path | None,
    scope: Scope,
) -> None:
    with database_url(state_dir) as url:

        async def go(settings: Settings, client: Client) -> None:
            namespaces: dict[str, str] = {}

            async def namespace_of(slug: str) -> str:
                if slug not in namespaces:

                    async def exists(namespace: str) -> bool:
                        return await namespace_exists(client.service_client, namespace)

                    settled = await settle(settings, Caller(scope, slug), exists)
                    namespaces[slug] = settled.namespace
                return namespaces[slug]

            pool = await create_pool(url, max_size=2)
            try:
                with _progress(tally.console) as progress:
                    task = progress.add_task("starting", total=total)
                    for batch in _batches(rows):
                        done = await start_imports(
                            client,
                            batch,
                            settings.task_queue,
                            pool=pool,
                            concurrency=concurrency,
                            on_done=lambda row, started: progress.advance(task),
                            namespace_of=namespace_of,
                        )
                        tally.result.started += done.started
                        tally.result.skipped += done.skipped
                    # The report reads the records: wait for the workers to write them.
                    started = tally.result.started
                    task = progress.add_task("recording", total=len(started))
                    recorded = await wait_recorded(
                        pool, started, on_progress=lambda n: progress.update(task, completed=n)
                    )
                if recorded < len(started):
                    typer.secho(
                        f"{len(started) - recorded} started collaboration(s) not recorded yet: "
                        "is a worker running?",
                        err=True,
                        fg="yellow",
                    )
            finally:
                await pool.close()

        _run_import(go)


def _run_import(make: Callable[[Settings, Client], Awaitable[None]]) -> None:
    """Connect with the environment's settings, in the shared namespace, and run `make`: each row
    then starts in its own programme's namespace on that connection (a file may hold rows of
    several of the caller's programmes)."""

    async def main() -> None:
        settings = with_key_store(load_settings())
        client = await client_for(settings)
        try:
            await make(settings, client)
        except RPCError as err:
            raise rpc_error(err) from None

    asyncio.run(main())


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _valid_rows(
    file: Path,
    today: date,
    sheet: str | None,
    delimiter: str | None,
    encoding: str | None,
    options: ReadOptions | None,
) -> Iterator[ImportRow]:
    """Yield the valid rows of the file, read again from its start."""
    with open_table(file, sheet=sheet, delimiter=delimiter, encoding=encoding) as table:
        for item in parse_table(table, file.name, today, options):
            if isinstance(item, ImportRow):
                yield item


def import_file(
    file: Path,
    concurrency: int,
    state_dir: Path | None,
    dry_run: bool = False,
    *,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    options: ReadOptions | None = None,
) -> None:
    """Check every row of `file`, start the valid ones, report errors and counts."""
    tally = _Tally(plain_console(stderr=True, soft_wrap=True))
    today = datetime.now(UTC).date()
    try:
        scope = None
        if not dry_run:

            def reread() -> Iterator[ImportRow]:
                return _valid_rows(file, today, sheet, delimiter, encoding, options)

            scope = importer(file.name, reread)
        with open_table(file, sheet=sheet, delimiter=delimiter, encoding=encoding) as table:
            typer.echo(f"reading {file.name} ({table.read_as})", err=True)
            rows = tally.valid_rows(parse_table(table, file.name, today, options))
            total = table.size - 1 if table.size else None  # less the header: about the rows
            if dry_run:
                with _progress(tally.console) as progress:
                    task = progress.add_task("checking", total=total)
                    for _ in rows:
                        progress.advance(task)
            else:
                assert scope is not None
                _start(tally, rows, total, concurrency, state_dir, scope)
    except FileRefused as err:
        raise CliError(str(err), BAD_INPUT) from None
    bad = len(tally.bad_rows)
    if dry_run:
        typer.echo(f"{tally.valid} valid row(s), {bad} row(s) with errors; nothing started (dry run)")
    else:
        result = tally.result
        typer.echo(
            f"{len(result.started)} started, {len(result.skipped)} skipped (already imported), "
            f"{bad} row(s) with errors"
        )
    if tally.errors:
        raise CliError(f"{tally.errors} error(s) in {file}; fix them and run the import again", BAD_INPUT)


def import_command(
    file: Annotated[
        Path, typer.Argument(help="Excel workbook (.xlsx) or CSV file, as examples/modele-import.xlsx")
    ],
    dry_run: Annotated[
        bool, typer.Option(help="Check the file only: every problem, nothing started")
    ] = False,
    sheet: Annotated[
        str | None, typer.Option(help="The workbook's sheet to read (default: the first)")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV separator: ',', ';' or 'tab' (default: detected)")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="CSV encoding: utf-8 or cp1252 (default: detected)")
    ] = None,
    date_format: Annotated[
        DateFormat, typer.Option(help="How the file writes dates in text; date cells need nothing")
    ] = DateFormat.DAY_FIRST,
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="'Header as written=field' for a column of another name")
    ] = None,
    concurrency: Concurrency = 8,
    state_dir: StateDir = None,
) -> None:
    """Start one collaboration per row of a spreadsheet, at its current stage, with its past dates."""
    try:
        options = ReadOptions(parse_maps(maps or []), date_format)
    except ValueError as err:
        raise CliError(str(err), BAD_INPUT) from None
    import_file(
        file,
        concurrency,
        state_dir,
        dry_run,
        sheet=sheet,
        delimiter=delimiter,
        encoding=encoding,
        options=options,
    )


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
    today = datetime.now(UTC).date()
    rows = demo_rows(
        today,
        seed=seed,
        corporates=corporates,
        startups=startups,
        collaborations=collaborations,
    )
    file.write_text(demo_csv(rows))
    typer.echo(f"wrote {len(rows)} collaborations to {file}")
    if not write_only:
        from passerelle.cli.demo_steps import plan_demo_steps

        for line in apply_demo_playbooks(state_dir):
            typer.echo(line)
        import_file(file, concurrency, state_dir)
        start_stalling()
        plan_demo_steps(rows, today, state_dir)


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
