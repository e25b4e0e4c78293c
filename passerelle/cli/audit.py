"""`passerelle audit …`: export, replay, read and verify a collaboration's full history.

A SOURCE is either an export (a folder written by `audit export`, its `manifest.json`, or one
history file from `temporal workflow show --output json`) or, when no such path exists, a live
workflow id whose whole chain of runs is fetched from Temporal.
"""

import asyncio
import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.service import RPCError

from passerelle.audit.entries import ErasedRecord, RecordedEntry, read_records, run_marks
from passerelle.audit.histories import ExportError, Run, fetch_chain, first_run_id, read_exports, write_export
from passerelle.audit.keys import check_keys, erasure_of
from passerelle.audit.timeline import stage_times, story, to_csv, to_markdown
from passerelle.audit.verify import Difference, compare, database_rows
from passerelle.cli.common import BAD_INPUT, FAILURE, CliError, StateDir, database_url, with_key_store
from passerelle.cli.consoles import plain_console
from passerelle.cli.output import show_timeline
from passerelle.platform.client import client_for, converter_for, store_for
from passerelle.platform.codec import UnknownKeyError
from passerelle.platform.db import redact_url
from passerelle.platform.settings import Settings, load_settings

if TYPE_CHECKING:  # the replay machinery (the SDK's worker, the sandbox) loads with `audit replay`
    from passerelle.audit.replay import ReplayOutcome

app = typer.Typer(help="Export, replay, read and verify collaborations' histories.", no_args_is_help=True)
err = plain_console(stderr=True)
out = plain_console()


def _readable(runs: list[Run], settings: Settings) -> list[Run]:
    """Return the runs once every key their payloads need is configured, else one clear error."""
    try:
        check_keys(runs, settings)
    except UnknownKeyError as error:
        raise CliError(f"cannot read the history: {error}") from None
    return runs


def erasure_lines(erased: list[ErasedRecord]) -> list[str]:
    """Return one line per erased run: when, by whom, why, and what is still checked."""
    runs: dict[str, ErasedRecord] = {}
    for record in erased:
        runs.setdefault(record.run_id, record)
    return [
        f"erased    run {r.run_index} ({r.run_id}): data key destroyed "
        f"{r.erasure.at.isoformat(timespec='seconds')} by {r.erasure.by or 'unknown'}"
        f"{f' ({r.erasure.reason})' if r.erasure.reason else ''}; its rows are checked against the "
        "history's metadata (seq, stages, outcome, times), not their content"
        for r in runs.values()
    ]


def _local(source: str) -> list[Run] | None:
    """Return the runs of an export path, or None when `source` is no path (a workflow id)."""
    path = Path(source)
    if not path.exists():
        return None
    try:
        return read_exports([path])
    except ExportError as error:
        raise CliError(str(error)) from None


async def _load(
    settings: Settings,
    source: str,
    run_id: str | None = None,
    all_runs: bool = True,
    *,
    readable: bool = True,
) -> list[Run]:
    """Return the runs of an export path, or of a live workflow id's chain.

    `readable` also requires every key the runs need (export copies ciphertext, so needs none).
    """
    runs = _local(source)
    if runs is None:
        try:
            runs = await fetch_chain(await client_for(settings), source, run_id, all_runs=all_runs)
        except RPCError as error:
            raise CliError(f"{source}: {error.message}") from None
    return _readable(runs, settings) if readable else runs


@app.command()
def export(
    workflow_id: str,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder (default audit-<id>)")] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every run of the chain, not the latest")
    ] = False,
    run_id: Annotated[str | None, typer.Option(help="A run of the chain to export (default latest)")] = None,
) -> None:
    """Write the history of each run as JSON (as `temporal workflow show -o json`) plus manifest.json."""
    settings = with_key_store(load_settings())
    runs = asyncio.run(_load(settings, workflow_id, run_id, all_runs, readable=False))
    folder = out_dir or Path(f"audit-{workflow_id}")
    manifest = write_export(runs, folder, settings.namespace)
    for run in runs:
        typer.echo(f"run {run.run_id}: {len(run.events)} events")
    typer.echo(f"wrote {len(runs)} history file(s) and {manifest}")


def _load_workflows(refs: list[str] | None) -> list[type] | None:
    if not refs:
        return None
    classes = []
    for ref in refs:
        module, _, name = ref.partition(":")
        try:
            classes.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError, ValueError) as error:
            raise CliError(f"--workflow {ref}: {error}", BAD_INPUT) from None
    return classes


async def _query_runs(settings: Settings, query: str) -> list[Run]:
    client = await client_for(settings)
    found = [(w.id, w.run_id) async for w in client.list_workflows(query)]
    limit = asyncio.Semaphore(16)

    async def one(wid: str, rid: str) -> Run:
        async with limit:
            return Run(wid, rid, await client.get_workflow_handle(wid, run_id=rid).fetch_history())

    try:
        return _readable(list(await asyncio.gather(*(one(w, r) for w, r in found))), settings)
    except RPCError as error:
        raise CliError(f"--query: {error.message}") from None


async def _erased_runs(runs: list[Run], settings: Settings) -> tuple[list["ReplayOutcome"], list[Run]]:
    """Split off the runs whose data key was destroyed: they report `erased`, they cannot replay."""
    from passerelle.audit.replay import ReplayOutcome

    store = store_for(settings)
    if store is None:
        return [], runs
    erased, readable = [], []
    for run in runs:
        gone = await erasure_of(run, store)
        if gone is None:
            readable.append(run)
            continue
        when = gone.at.isoformat(timespec="seconds")
        erased.append(
            ReplayOutcome(
                run.workflow_id, run.run_id, len(run.events), erased=f"{when} by {gone.by or 'unknown'}"
            )
        )
    return erased, readable


def _summary(outcomes: list["ReplayOutcome"]) -> int:
    for o in outcomes:
        if o.erased:
            out.print(f"erased    {o.workflow_id} {o.run_id}: data key destroyed {o.erased}", markup=False)
    failed = [o for o in outcomes if not o.passed]
    nondet = [o for o in failed if o.nondeterministic]
    if failed:
        table = Table("workflow id", "run id", "verdict", "first diverging event", "error", title="Failures")
        for o in failed:
            event = f"{o.event_id} {o.event_type or ''}" if o.event_id else "—"
            verdict = "non-deterministic" if o.nondeterministic else "failed"
            table.add_row(o.workflow_id, o.run_id, verdict, event, (o.error or "")[:160])
        out.print(table)
    erased = sum(1 for o in outcomes if o.erased)
    out.print(
        f"replayed {len(outcomes) - erased}, passed {len(outcomes) - erased - len(failed)}, "
        f"non-deterministic {len(nondet)}, other failures {len(failed) - len(nondet)}"
        + (f", erased {erased}" if erased else "")
    )
    return FAILURE if failed or not outcomes else 0


@app.command()
def replay(
    sources: Annotated[list[str] | None, typer.Argument(help="Export folders/files or workflow ids")] = None,
    query: Annotated[
        str | None, typer.Option(help='Visibility query, e.g. ExecutionStatus="Completed"')
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Processes (default: every core)")] = None,
    sandbox: Annotated[
        bool | None,
        typer.Option(
            "--sandboxed/--unsandboxed",
            help="Replay in the workflow sandbox (default: without it for the worker's own workflows, "
            "which every test runs sandboxed; with it for --workflow classes). docs/auditors.md",
        ),
    ] = None,
    workflow: Annotated[
        list[str] | None, typer.Option(help="module:Class to replay against (default: the worker's)")
    ] = None,
) -> None:
    """Replay histories against the current workflow code; exit 1 if any does not replay."""
    if not sources and not query:
        raise CliError("give export folders, files or workflow ids, or --query", BAD_INPUT)
    classes = _load_workflows(workflow)
    settings = with_key_store(load_settings())
    sandboxed = sandbox if sandbox is not None else bool(workflow)

    from passerelle.audit.replay import ReplayOutcome, replay_runs

    async def go() -> list[ReplayOutcome]:
        runs: list[Run] = []
        for source in sources or []:
            runs += await _load(settings, source)
        if query:
            runs += await _query_runs(settings, query)
        erased, runs = await _erased_runs(runs, settings)
        columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("replay", total=len(runs))
            return erased + await replay_runs(
                runs,
                settings,
                jobs=jobs,
                workflows=classes,
                on_done=lambda _: progress.advance(task),
                sandboxed=sandboxed,
            )

    code = _summary(asyncio.run(go()))
    if code:
        raise SystemExit(code)


@app.command()
def timeline(
    source: Annotated[str, typer.Argument(help="Workflow id or export folder")],
    fmt: Annotated[str, typer.Option("--format", help="table, md or csv")] = "table",
) -> None:
    """Print the collaboration's story in order, across runs, with the time spent in each stage."""
    if fmt not in ("table", "md", "csv"):
        raise CliError(f"--format must be table, md or csv, not {fmt!r}", BAD_INPUT)

    settings = with_key_store(load_settings())

    async def go() -> tuple[list[Run], list[RecordedEntry], list[ErasedRecord]]:
        runs = await _load(settings, source)
        records = await read_records(runs, converter_for(settings))
        return runs, records.entries, records.erased

    runs, entries, erased = asyncio.run(go())
    chains = {first_run_id(run.history) for run in runs}
    if len(chains) > 1:
        raise CliError(f"{source} holds {len(chains)} collaborations; give one export folder", BAD_INPUT)
    marks = run_marks(runs)
    until = marks[-1].ended_at or datetime.now(UTC)
    lines, times = story(entries, marks, erased), stage_times(entries, until)
    title = f"{runs[0].workflow_id} (collaboration {first_run_id(runs[0].history)}, {len(runs)} run(s))"
    if fmt == "md":
        typer.echo(to_markdown(lines, times, title), nl=False)
    elif fmt == "csv":
        typer.echo(to_csv(lines, times), nl=False)
    else:
        show_timeline(lines, times, title, out)


@app.command()
def verify(
    source: Annotated[str, typer.Argument(help="Workflow id or export folder")], state_dir: StateDir = None
) -> None:
    """Check every recorded event is in Postgres once, in order, with the same fields and times."""

    settings = with_key_store(load_settings())

    async def go() -> tuple[str, list[RecordedEntry], list[Difference], int]:
        runs = await _load(settings, source)
        records = await read_records(runs, converter_for(settings))
        entries = records.entries
        for line in erasure_lines(records.erased):
            out.print(line, markup=False, highlight=False)
        collaboration_id = first_run_id(runs[0].history)
        with database_url(state_dir) as url:
            try:
                conn = await asyncpg.connect(url)
                try:
                    rows = await database_rows(conn, collaboration_id)
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError) as error:
                raise CliError(f"cannot read the milestone rows from {redact_url(url)}: {error}") from None
        erased_rows = len({r["seq"] for r in rows if r["run_id"] in {e.run_id for e in records.erased}})
        return collaboration_id, entries, compare(entries, rows, records.erased), erased_rows

    collaboration_id, entries, diffs, erased_rows = asyncio.run(go())
    for diff in diffs:
        out.print(str(diff), markup=False, highlight=False)
    count, pending = len(entries), sum(not e.completed for e in entries)
    if diffs:
        out.print(f"collaboration {collaboration_id}: {len(diffs)} difference(s) over {count} event(s)")
        raise SystemExit(FAILURE)
    still = f" ({pending} still being recorded)" if pending else ""
    erased = (
        f" and {erased_rows} row(s) of erased runs, checked against their metadata" if erased_rows else ""
    )
    out.print(
        f"collaboration {collaboration_id}: {count} event(s), all in Postgres once, same order and times"
        + still
        + erased
    )


def register(main: typer.Typer) -> None:
    """Add `audit` to the app."""
    main.add_typer(app, name="audit")
