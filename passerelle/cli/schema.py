"""`passerelle schema`: the JSON Schema of the start input, of each update's request and of `status`.

The same models validate the Web UI's JSON, the CLI's flags and the workflow's input, so the
schema printed here is exactly what the workflow accepts.
"""

from typing import Annotated, Any, get_args, get_type_hints

import typer
from pydantic import BaseModel

from passerelle.cli.common import BAD_INPUT, CliError, print_json
from schemas import CollaborationRequest, CollaborationStatus
from workflows.collaboration import CollaborationWorkflow

# Update names as the Web UI and `temporal workflow update execute` know them, and the CLI
# command that sends each.
UPDATES = {
    "advance": "advance",
    "record_milestone": "milestone",
    "close": "close",
    "pause": "pause",
    "resume": "resume",
    "snooze_reminders": "snooze",
    "request_approval": "request-approval",
    "approve": "approve",
    "reject": "reject",
    "score": "score",
    "adopt_playbook": "adopt-playbook",
    "partner_answer": "partner_answer",  # no command: the partner portal sends it (docs/partners.md)
    "erase_contact": "privacy erase",  # sent by `passerelle privacy erase` (docs/privacy.md)
}


def update_model(name: str) -> type[BaseModel]:
    """Return the request model of the workflow's update `name` (read off its signature)."""
    hints = get_type_hints(getattr(CollaborationWorkflow, name))
    declared = next(v for k, v in hints.items() if k != "return")
    # Handlers take `Model | Any` (they decode raw UI JSON themselves): the model is the schema.
    for candidate in (declared, *get_args(declared)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise TypeError(f"update {name} declares no request model")


def schemas() -> dict[str, Any]:
    """Return every schema, keyed as `start`, `updates.<name>` and `queries.status`."""
    return {
        "workflow_type": "CollaborationWorkflow",
        "start": CollaborationRequest.model_json_schema(),
        # by_alias: `request_approval` takes `for`, which Python spells `for_`
        "updates": {name: update_model(name).model_json_schema(by_alias=True) for name in UPDATES},
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
    aliases = {cli: update for update, cli in UPDATES.items()}
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
