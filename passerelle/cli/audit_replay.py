"""`passerelle audit replay`: replay histories against the current workflow code.

Kept apart from the other audit commands because it alone drives the SDK's replayer (loaded only
when it runs) and reads histories by visibility query; `passerelle.cli.audit` registers it. A
query runs in the namespace of the caller's programme (`--shared`: the shared namespace), and
keeps the collaborations of the caller's programmes only.
"""

import asyncio
import importlib
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.service import RPCError

from passerelle.audit.histories import Run
from passerelle.audit.keys import erasure_of
from passerelle.cli.audit_sources import Auditing, auditing, load_runs, only_theirs, readable_runs
from passerelle.cli.common import BAD_INPUT, FAILURE, CliError, with_key_store
from passerelle.cli.consoles import plain_console
from passerelle.platform.client import client_for, store_for
from passerelle.platform.settings import Settings, load_settings

if TYPE_CHECKING:  # the replay machinery (the SDK's worker, the sandbox) loads with `audit replay`
    from passerelle.audit.replay import ReplayOutcome

err = plain_console(stderr=True)
out = plain_console()


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


async def _query_runs(who: Auditing, query: str) -> list[Run]:
    client = await client_for(who.settings)
    limit = asyncio.Semaphore(16)

    async def one(wid: str, rid: str) -> Run:
        async with limit:
            return Run(wid, rid, await client.get_workflow_handle(wid, run_id=rid).fetch_history())

    try:
        found = [(w.id, w.run_id) async for w in client.list_workflows(query)]
        runs = await only_theirs(who, list(await asyncio.gather(*(one(w, r) for w, r in found))))
    except RPCError as error:
        raise CliError(f"--query: {error.message}") from None
    return readable_runs(runs, who.settings)


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
        who = await auditing(settings, temporal=query is not None)
        runs: list[Run] = []
        for source in sources or []:
            runs += (await load_runs(who, source))[0]
        if query:
            runs += await _query_runs(who, query)
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
