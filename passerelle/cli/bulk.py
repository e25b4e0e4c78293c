"""`passerelle bulk pause|resume|close|adopt-playbook --query '<query>'`: one change, many collaborations.

The Web UI has no batch updates. The query is narrowed to running collaborations; each match is
checked locally with the workflow's own rule (on its search attributes) and listed with `--dry-run`;
otherwise the update goes to each, up to `CONCURRENCY` (8) at a time, behind a progress bar, and
refusals are reported, not fatal.
"""

import asyncio
from dataclasses import dataclass
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.progress import Progress
from rich.table import Table
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from passerelle.cli.common import BAD_INPUT, By, CliError, Json, build, print_json, run
from passerelle.cli.consoles import plain_console
from passerelle.cli.visibility import Row, UnsafeQuery, fetch, restrict, shared_programme
from passerelle.platform.pressure import execute_update
from passerelle.platform.settings import Settings
from schemas import Closure, CollaborationStatus, PauseRequest, ResumeRequest
from schemas.playbooks import PlaybookAdoption
from workflows.domain.transitions import Refused
from workflows.domain.updates import UPDATES

app = typer.Typer(
    help="Pause, resume, close or adopt a playbook for every collaboration a visibility query matches."
)
stderr = plain_console(stderr=True)
CONCURRENCY = 8  # updates in flight at once: fast, without flooding a small cluster

Query = Annotated[str, typer.Option(help="Visibility query, e.g. 'Stage = \"pilot\" AND Stalled = true'")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List what would change; change nothing")]


@dataclass
class Match:
    """What happened (or would happen) to one collaboration the query matched."""

    workflow_id: str
    stage: str | None
    action: str  # would_change, changed, skipped, refused
    reason: str = ""


def _skip_reason(update: str, request: BaseModel, row: Row) -> str | None:
    """Return why the workflow would refuse `update` for `row`, judged from its search attributes.

    The rule is the workflow's own (`workflows.domain.rules`); a row whose attributes are not all set yet
    is left for the workflow to judge.
    """
    facts = row.facts()
    if facts is None:
        return None
    try:
        UPDATES[update].rule(facts, request)
    except Refused as err:
        return str(err)
    return None


async def _apply(client: Client, update: str, request: BaseModel, planned: list[Match]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    with Progress(console=stderr, transient=False) as progress:
        bar = progress.add_task("updating", total=len(planned))

        async def one(item: Match) -> None:
            async with gate:
                try:
                    handle = client.get_workflow_handle(item.workflow_id)
                    await execute_update(handle, update, request, result_type=CollaborationStatus)
                    item.action = "changed"
                except WorkflowUpdateFailedError as err:
                    item.action, item.reason = "refused", str(getattr(err.cause, "message", err.cause))
                except RPCError as err:
                    item.action, item.reason = "refused", err.message
                progress.advance(bar)

        await asyncio.gather(*(one(item) for item in planned))


def _bulk(update: str, request: BaseModel, query: str, dry_run: bool, as_json: bool) -> None:
    try:
        scoped = restrict(query)
    except UnsafeQuery as err:
        raise CliError(str(err), BAD_INPUT) from None

    async def go(settings: Settings, client: Client) -> list[Match]:
        outcomes = []
        for row in await fetch(
            client.service_client, client.namespace, scoped, programme=shared_programme(settings)
        ):
            reason = _skip_reason(update, request, row)
            action = "skipped" if reason else "would_change"
            outcomes.append(Match(row.workflow_id, row.stage, action, reason or ""))
        if not dry_run:
            await _apply(client, update, request, [o for o in outcomes if o.action == "would_change"])
        return outcomes

    outcomes = run(go)
    if as_json:
        print_json([o.__dict__ for o in outcomes])
    else:
        table = Table("workflow id", "stage", update, "reason", title=f"bulk {update}")
        for o in outcomes:
            table.add_row(o.workflow_id, o.stage or "?", o.action.replace("_", " "), o.reason)
        plain_console().print(table)
        actions = ("would_change", "changed", "skipped", "refused")
        counts = {a: sum(o.action == a for o in outcomes) for a in actions}
        typer.echo(", ".join(f"{n} {a.replace('_', ' ')}" for a, n in counts.items() if n) or "no match")
    refused = [o for o in outcomes if o.action == "refused"]
    if refused:
        raise CliError(f"{len(refused)} of {len(outcomes)} collaboration(s) refused the {update}")


@app.command()
def pause(
    query: Query,
    by: By,
    reason: Annotated[str, typer.Option()],
    dry_run: DryRun = False,
    as_json: Json = False,
) -> None:
    """Pause the reminders of every matching collaboration."""
    request = build(PauseRequest, {"by": by, "reason": reason}, "pause")
    _bulk("pause", request, query, dry_run, as_json)


@app.command()
def resume(query: Query, by: By, dry_run: DryRun = False, as_json: Json = False) -> None:
    """Resume every matching paused collaboration."""
    request = build(ResumeRequest, {"by": by}, "resume")
    _bulk("resume", request, query, dry_run, as_json)


@app.command()
def close(
    query: Query,
    outcome: Annotated[str, typer.Option(help="deployed, declined or abandoned")],
    by: By,
    reason: Annotated[str, typer.Option()],
    dry_run: DryRun = False,
    as_json: Json = False,
) -> None:
    """Close every matching collaboration with an outcome."""
    request = build(Closure, {"outcome": outcome, "by": by, "reason": reason}, "close")
    _bulk("close", request, query, dry_run, as_json)


@app.command("adopt-playbook")
def adopt_playbook(
    query: Query,
    version: Annotated[int, typer.Option("--version", help="The programme's playbook version to run under")],
    by: By,
    dry_run: DryRun = False,
    as_json: Json = False,
) -> None:
    """Move every matching collaboration to a playbook version; each one's validator and handler
    refuse a version that would break it (reported, not fatal)."""
    request = build(PlaybookAdoption, {"version": version, "by": by}, "adopt_playbook")
    _bulk("adopt_playbook", request, query, dry_run, as_json)


def register(parent: typer.Typer) -> None:
    """Add `bulk` to the app."""
    parent.add_typer(app, name="bulk")
