"""`passerelle watch ID`: follow a collaboration's changes until it closes.

Long-polls the workflow's result (which follows continue-as-new runs) and, meanwhile, polls the
`status` query every few seconds, printing each new event once, in order.
"""

import asyncio
import json
from datetime import timedelta
from typing import Annotated

import typer
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from passerelle.cli.common import CliError, run
from passerelle.platform.settings import Settings
from schemas import CollaborationStatus, HistoryEntry
from schemas.moments import second
from workflows.collaboration import CollaborationWorkflow

QUERY_TIMEOUT = timedelta(seconds=10)  # a worker that is down must not freeze the watch


def _line(entry: HistoryEntry) -> str:
    what = entry.kind.value
    what += f" → {entry.to_stage}" if entry.to_stage else ""
    what += f" {entry.milestone}" if entry.milestone else ""
    what += f" {entry.outcome}" if entry.outcome else ""
    note = f": {entry.note}" if entry.note else ""
    return f"{second(entry.at)} #{entry.seq} [{entry.stage}] {what} by {entry.actor}{note}"


class Printer:
    """Print each event and each SLA change once."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.seen = 0
        self.sla: str | None = None

    def show(self, status: CollaborationStatus) -> None:
        """Print what changed since the last status shown."""
        for entry in status.history:
            if entry.seq > self.seen:
                if self.seen and entry.seq > self.seen + 1:  # more news than the workflow keeps
                    skipped = entry.seq - self.seen - 1
                    self._emit({"skipped": skipped}, f"… {skipped} more entries: see passerelle status")
                self.seen = entry.seq
                self._emit({"event": entry.model_dump(mode="json")}, _line(entry))
        if status.sla.value != self.sla:
            self.sla = status.sla.value
            self._emit({"sla": self.sla, "stage": status.stage.value}, f"sla: {self.sla} ({status.stage})")

    def _emit(self, data: dict[str, object], text: str) -> None:
        typer.echo(json.dumps(data) if self.as_json else text)


async def follow(client: Client, workflow_id: str, interval: float, printer: Printer) -> str:
    """Print changes until the collaboration ends; return how it ended."""
    handle = client.get_workflow_handle(workflow_id, result_type=CollaborationStatus)
    await handle.describe()  # unknown id: fail at once, not after the first poll
    result = asyncio.create_task(handle.result())
    try:
        while not result.done():
            try:
                printer.show(await handle.query(CollaborationWorkflow.status, rpc_timeout=QUERY_TIMEOUT))
            except RPCError:
                pass  # no worker right now, or the run just closed: the result tells
            await asyncio.wait({result}, timeout=interval)
        final = result.result()
    except WorkflowFailureError as err:
        return f"ended without an outcome: {err.cause or err}"
    finally:
        result.cancel()
    printer.show(final)
    return f"closed: {final.outcome}"


def watch(
    workflow_id: str,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between status polls")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Follow a collaboration's changes until it closes (Ctrl-C stops watching)."""
    printer = Printer(as_json)

    async def go(settings: Settings, client: Client) -> str:
        return await follow(client, workflow_id, interval, printer)

    ending = run(go, workflow_id=workflow_id)
    if as_json:
        typer.echo(json.dumps({"end": ending}))
    if not ending.startswith("closed"):
        raise CliError(ending)
    if not as_json:
        typer.echo(ending)


def register(app: typer.Typer) -> None:
    """Add `watch` to the app."""
    app.command()(watch)
