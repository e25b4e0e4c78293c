"""`passerelle schema`: the JSON Schema of the start input, of each update's request and of `status`.

The same models validate the Web UI's JSON, the CLI's flags and the workflow's input, so the
schema printed here is exactly what the workflow accepts.
"""

from typing import Annotated, Any

import typer

from passerelle.cli.common import BAD_INPUT, CliError, print_json
from schemas import CollaborationRequest, CollaborationStatus
from workflows.domain.updates import UPDATES


def schemas() -> dict[str, Any]:
    """Return every schema, keyed as `start`, `updates.<name>` and `queries.status`."""
    return {
        "workflow_type": "CollaborationWorkflow",
        "start": CollaborationRequest.model_json_schema(),
        # by_alias: `request_approval` takes `for`, which Python spells `for_`
        "updates": {name: u.model.model_json_schema(by_alias=True) for name, u in UPDATES.items()},
        "queries": {"status": CollaborationStatus.model_json_schema(mode="serialization")},
    }


def schema(
    name: Annotated[
        str | None,
        typer.Argument(help="start, status, or an update (advance, record_milestone, ...); all if omitted"),
    ] = None,
) -> None:
    """Print the JSON Schema of the start input, of each update's request and of `status`."""
    everything = schemas()
    if name is None:
        print_json(everything)
        return
    aliases = {u.command: name for name, u in UPDATES.items() if u.command}
    name = aliases.get(name, name)
    if name == "start":
        print_json(everything["start"])
    elif name == "status":
        print_json(everything["queries"]["status"])
    elif name in everything["updates"]:
        print_json(everything["updates"][name])
    else:
        known = ", ".join(["start", "status", *UPDATES])
        raise CliError(f"unknown schema {name!r}: choose one of {known}", BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Add `schema` to the app."""
    app.command()(schema)
