"""The commands that send an update: one per declared update with a command.

Each turns its flags into the update's request, checks it locally with the update's own model
(`workflows.domain.updates`), and sends it by name. The workflow's validator runs the update's
rule and refuses, as final, before the update enters history: `run` shows that refusal as one
line. Each command's name and help are the declaration's; its flags are here, in a function
named as the update.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from temporalio.client import Client

from passerelle.cli.common import BAD_INPUT, By, CliError, Json, build, print_json, run
from passerelle.cli.output import show_status
from passerelle.platform.pressure import execute_update
from passerelle.platform.settings import Settings
from schemas import CollaborationStatus
from schemas.moments import paris_instant
from workflows.domain.updates import UPDATES

Note = Annotated[str, typer.Option()]


def send(workflow_id: str, name: str, data: dict[str, Any], as_json: bool) -> None:
    """Build update `name`'s request from `data`, send it and print the answer: the new status,
    without history (`passerelle status` has it)."""
    update = UPDATES[name]
    request = build(update.model, data, name)

    async def go(settings: Settings, client: Client) -> CollaborationStatus:
        handle = client.get_workflow_handle(workflow_id)
        status: CollaborationStatus = await execute_update(
            handle, update.name, request, result_type=CollaborationStatus
        )
        return status

    status = run(go, workflow_id=workflow_id)
    print_json(status) if as_json else show_status(status, with_history=False)


def advance(
    workflow_id: str, to: Annotated[str, typer.Option()], by: By, note: Note = "", as_json: Json = False
) -> None:
    send(workflow_id, "advance", {"to": to, "by": by, "note": note}, as_json)


def record_milestone(
    workflow_id: str,
    kind: Annotated[str, typer.Option()],
    by: By,
    note: Note = "",
    evidence_url: Annotated[str | None, typer.Option()] = None,
    as_json: Json = False,
) -> None:
    data = {"kind": kind, "by": by, "note": note, "evidence_url": evidence_url}
    send(workflow_id, "record_milestone", data, as_json)


def close(
    workflow_id: str,
    outcome: Annotated[str, typer.Option()],
    by: By,
    reason: Annotated[str, typer.Option()],
    as_json: Json = False,
) -> None:
    send(workflow_id, "close", {"outcome": outcome, "by": by, "reason": reason}, as_json)


def pause(workflow_id: str, by: By, reason: Annotated[str, typer.Option()], as_json: Json = False) -> None:
    send(workflow_id, "pause", {"by": by, "reason": reason}, as_json)


def resume(workflow_id: str, by: By, as_json: Json = False) -> None:
    send(workflow_id, "resume", {"by": by}, as_json)


def snooze_reminders(
    workflow_id: str, by: By, days: Annotated[str, typer.Option()], as_json: Json = False
) -> None:
    send(workflow_id, "snooze_reminders", {"by": by, "days": days}, as_json)


def request_approval(
    workflow_id: str,
    for_: Annotated[str, typer.Option("--for", help="The gated move: a stage, or deployed")],
    by: By,
    note: Note = "",
    as_json: Json = False,
) -> None:
    send(workflow_id, "request_approval", {"for": for_, "by": by, "note": note}, as_json)


def approve(workflow_id: str, by: By, note: Note = "", as_json: Json = False) -> None:
    send(workflow_id, "approve", {"by": by, "note": note}, as_json)


def reject(workflow_id: str, by: By, reason: Annotated[str, typer.Option()], as_json: Json = False) -> None:
    send(workflow_id, "reject", {"by": by, "reason": reason}, as_json)


def score(
    workflow_id: str,
    by: By,
    scores: Annotated[list[str], typer.Option("--score", help="CRITERION=1..5, one per criterion")],
    note: Note = "",
    as_json: Json = False,
) -> None:
    given: dict[str, str] = {}
    for item in scores:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise CliError(
                f"--score {item!r}: write CRITERION=SCORE, e.g. --score 'clinical value=4'", BAD_INPUT
            )
        given[name.strip()] = value.strip()
    send(workflow_id, "score", {"by": by, "scores": given, "note": note}, as_json)


def adopt_playbook(
    workflow_id: str,
    version: Annotated[int, typer.Option("--version", help="The programme's playbook version to run under")],
    by: By,
    as_json: Json = False,
) -> None:
    send(workflow_id, "adopt_playbook", {"version": version, "by": by}, as_json)


def _instant(flag: str, text: str) -> str:
    """Return a typed time as ISO with its offset (Europe/Paris when none), or refuse it in one
    line naming the flag: one ahead of now only, since a plan is about what comes next."""
    try:
        moment = paris_instant(text)
    except ValueError as err:
        raise CliError(f"{flag}: {err}", BAD_INPUT) from None
    if moment <= datetime.now(UTC):
        raise CliError(f"{flag}: {text} is past; a planned step is ahead of now", BAD_INPUT)
    return moment.isoformat()


At = Annotated[str, typer.Option(help="When: 2027-03-30T10:00 (Paris time), or with an offset")]
StepOption = Annotated[str, typer.Option(help="The step: s1, s2... (passerelle status lists them)")]


def plan_step(
    workflow_id: str,
    kind: Annotated[str, typer.Option(help="meeting, demo, document or decision")],
    at: At,
    by: By,
    minutes: Annotated[int, typer.Option(help="How long, 15 to 480")] = 60,
    where: Annotated[str, typer.Option(help="A place or a link")] = "",
    with_: Annotated[
        list[str] | None,
        typer.Option("--with", help="Who is invited, one address each (default: both parties)"),
    ] = None,
    note: Note = "",
    as_json: Json = False,
) -> None:
    data = {
        "kind": kind,
        "at": _instant("--at", at),
        "minutes": minutes,
        "where": where,
        "with_whom": with_ or [],
        "note": note,
        "by": by,
    }
    send(workflow_id, "plan_step", data, as_json)


def reschedule_step(
    workflow_id: str,
    step: StepOption,
    at: At,
    by: By,
    minutes: Annotated[int | None, typer.Option(help="A new length, 15 to 480")] = None,
    note: Note = "",
    as_json: Json = False,
) -> None:
    data = {"step": step, "at": _instant("--at", at), "minutes": minutes, "note": note, "by": by}
    send(workflow_id, "reschedule_step", data, as_json)


def cancel_step(workflow_id: str, step: StepOption, by: By, note: Note = "", as_json: Json = False) -> None:
    send(workflow_id, "cancel_step", {"step": step, "note": note, "by": by}, as_json)


def step_held(workflow_id: str, step: StepOption, by: By, note: Note = "", as_json: Json = False) -> None:
    send(workflow_id, "step_held", {"step": step, "note": note, "by": by}, as_json)


def set_decision_date(
    workflow_id: str,
    on: Annotated[str, typer.Option(help="The go/no-go date: 2027-06-30")],
    by: By,
    note: Note = "",
    as_json: Json = False,
) -> None:
    send(workflow_id, "set_decision_date", {"on": on, "by": by, "note": note}, as_json)


def register(app: typer.Typer) -> None:
    """Add a command for every declared update that has one, named and described by it."""
    for update in UPDATES.values():
        if update.command is not None:
            app.command(update.command, help=update.doc)(globals()[update.name])
