"""`passerelle audit …`: export, replay, read and verify a collaboration's full history.

A SOURCE is either an export (a folder written by `audit export`, its `manifest.json`, or one
history file from `temporal workflow show --output json`) or, when no such path exists, a live
workflow id whose whole chain of runs is fetched from Temporal (`passerelle.cli.audit_sources`),
within the caller's programmes. `replay` lives in `passerelle.cli.audit_replay`.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from temporalio.converter import DataConverter

from passerelle.audit.actors import Proof, actor_problems, proofs, read_keys, summary, write_keys
from passerelle.audit.entries import ErasedRecord, RecordedEntry, read_records, run_marks
from passerelle.audit.histories import Run, first_run_id, write_export
from passerelle.audit.timeline import stage_times, story, to_csv, to_markdown
from passerelle.audit.verify import Difference, compare, database_rows
from passerelle.cli.audit_replay import replay
from passerelle.cli.audit_sources import auditing, load_runs
from passerelle.cli.common import BAD_INPUT, FAILURE, CliError, StateDir, database_url, with_key_store
from passerelle.cli.consoles import plain_console
from passerelle.cli.output import show_timeline
from passerelle.platform.client import converter_for, keyring_for
from passerelle.platform.db import redact_url
from passerelle.platform.settings import Settings, load_settings

app = typer.Typer(help="Export, replay, read and verify collaborations' histories.", no_args_is_help=True)
out = plain_console()


def actors_converter(settings: Settings, source: str) -> DataConverter:
    """Return the settings' converter, knowing the vouching keys an export folder carries too."""
    path = Path(source)
    if path.exists():
        try:
            keyring_for(settings).add(read_keys(path))
        except (OSError, ValueError, KeyError) as err:
            raise CliError(f"{source}: the vouching keys cannot be read ({err})") from None
    return converter_for(settings)


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

    async def go() -> tuple[list[Run], Settings]:
        who = await auditing(with_key_store(load_settings()))
        return await load_runs(who, workflow_id, run_id, all_runs, readable=False)

    runs, settings = asyncio.run(go())
    folder = out_dir or Path(f"audit-{workflow_id}")
    manifest = write_export(runs, folder, settings.namespace)
    keys = asyncio.run(keyring_for(settings).known())
    if keys:  # so that its actors re-verify offline, whatever the keys rotated to since
        write_keys(folder, keys)
    for run in runs:
        typer.echo(f"run {run.run_id}: {len(run.events)} events")
    typer.echo(f"wrote {len(runs)} history file(s) and {manifest}")


app.command()(replay)


@app.command()
def timeline(
    source: Annotated[str, typer.Argument(help="Workflow id or export folder")],
    fmt: Annotated[str, typer.Option("--format", help="table, md or csv")] = "table",
) -> None:
    """Print the collaboration's story in order, across runs, with the time spent in each stage."""
    if fmt not in ("table", "md", "csv"):
        raise CliError(f"--format must be table, md or csv, not {fmt!r}", BAD_INPUT)

    async def go() -> tuple[list[Run], list[RecordedEntry], list[ErasedRecord], list[Proof]]:
        who = await auditing(with_key_store(load_settings()))
        runs, settings = await load_runs(who, source)
        converter = actors_converter(settings, source)
        records = await read_records(runs, converter)
        return runs, records.entries, records.erased, await proofs(runs, converter)

    runs, entries, erased, found = asyncio.run(go())
    chains = {first_run_id(run.history) for run in runs}
    if len(chains) > 1:
        raise CliError(f"{source} holds {len(chains)} collaborations; give one export folder", BAD_INPUT)
    marks = run_marks(runs)
    until = marks[-1].ended_at or datetime.now(UTC)
    lines, times = story(entries, marks, erased, found), stage_times(entries, until)
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

    async def go() -> tuple[str, list[RecordedEntry], list[Difference], int, str]:
        who = await auditing(with_key_store(load_settings()), state_dir)
        runs, settings = await load_runs(who, source)
        converter = actors_converter(settings, source)
        records = await read_records(runs, converter)
        entries = records.entries
        found = await proofs(runs, converter)
        actors = [Difference("actor", seq, what) for seq, what in actor_problems(entries, found)]
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
        diffs = actors + compare(entries, rows, records.erased)
        return collaboration_id, entries, diffs, erased_rows, summary(entries, found)

    collaboration_id, entries, diffs, erased_rows, who = asyncio.run(go())
    for diff in diffs:
        out.print(str(diff), markup=False, highlight=False)
    out.print(who, markup=False, highlight=False)
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
