"""Operator commands of playbook runs: approvals (four eyes), scorecards and adopting a version.

Each builds its request with the workflow's own schema and sends the update; the workflow's
validator applies the playbook's rules (`workflows.gates`) and refuses, as one line, before the
update enters history.
"""

from typing import Annotated

import typer

from passerelle.cli.common import BAD_INPUT, By, CliError, Json, build
from passerelle.cli.operate import send_update
from schemas.playbooks import Approval, ApprovalRequest, PlaybookAdoption, Rejection, Scorecard
from workflows.collaboration import CollaborationWorkflow


def request_approval(
    workflow_id: str,
    for_: Annotated[str, typer.Option("--for", help="The gated move: a stage, or deployed")],
    by: By,
    note: Annotated[str, typer.Option()] = "",
    as_json: Json = False,
) -> None:
    """Ask a second person to approve a gated move or closing as deployed."""
    request = build(ApprovalRequest, {"for": for_, "by": by, "note": note}, "request_approval")
    send_update(workflow_id, CollaborationWorkflow.request_approval, request, as_json)


def approve(
    workflow_id: str, by: By, note: Annotated[str, typer.Option()] = "", as_json: Json = False
) -> None:
    """Approve the pending approval (not its requester; one of the playbook's approvers)."""
    send_update(
        workflow_id,
        CollaborationWorkflow.approve,
        build(Approval, {"by": by, "note": note}, "approve"),
        as_json,
    )


def reject(workflow_id: str, by: By, reason: Annotated[str, typer.Option()], as_json: Json = False) -> None:
    """Reject the pending approval, with a reason."""
    rejection = build(Rejection, {"by": by, "reason": reason}, "reject")
    send_update(workflow_id, CollaborationWorkflow.reject, rejection, as_json)


def score(
    workflow_id: str,
    by: By,
    scores: Annotated[list[str], typer.Option("--score", help="CRITERION=1..5, one per criterion")],
    note: Annotated[str, typer.Option()] = "",
    as_json: Json = False,
) -> None:
    """Record your scorecard of the evaluation (a new one replaces your previous one)."""
    given: dict[str, str] = {}
    for item in scores:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise CliError(
                f"--score {item!r}: write CRITERION=SCORE, e.g. --score 'clinical value=4'", BAD_INPUT
            )
        given[name.strip()] = value.strip()
    card = build(Scorecard, {"by": by, "scores": given, "note": note}, "score")
    send_update(workflow_id, CollaborationWorkflow.score, card, as_json)


def adopt_playbook(
    workflow_id: str,
    version: Annotated[int, typer.Option("--version", help="The programme's playbook version to run under")],
    by: By,
    as_json: Json = False,
) -> None:
    """Move a collaboration to a newer version of its programme's playbook."""
    adoption = build(PlaybookAdoption, {"version": version, "by": by}, "adopt_playbook")
    send_update(workflow_id, CollaborationWorkflow.adopt_playbook, adoption, as_json)


def register(app: typer.Typer) -> None:
    """Add the playbook update commands to the app."""
    for command in (request_approval, approve, reject, score, adopt_playbook):
        app.command()(command)
