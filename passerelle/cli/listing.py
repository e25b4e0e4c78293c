"""`passerelle list`: find collaborations by stage, stall, parties or programme."""

from typing import Annotated

import typer
from temporalio.service import ServiceClient

from passerelle.cli.base import BAD_INPUT, CliError, print_json, run_service
from passerelle.cli.consoles import show_list
from passerelle.cli.visibility import Row, build_query, fetch, shared_programme, with_reasons
from passerelle.platform.settings import Settings


def list_command(
    stage: Annotated[str | None, typer.Option(help="introduction, qualification, pilot, ...")] = None,
    stalled: Annotated[bool | None, typer.Option("--stalled/--not-stalled", help="Stalled or not")] = None,
    corporate: Annotated[str | None, typer.Option(help="Exact corporate name")] = None,
    startup: Annotated[str | None, typer.Option(help="Exact start-up name")] = None,
    programme: Annotated[str | None, typer.Option(help="Exact programme name")] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="Include closed collaborations")] = False,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only collaborations whose run failed, with the reason")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows")] = 200,
    show_query: Annotated[bool, typer.Option("--show-query", help="Print the visibility query")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """List collaborations (running ones unless --all, failed ones with --failed), as a table."""
    if stage is not None:
        from schemas import Stage  # the contract loads only when a stage needs checking

        if stage not in {s.value for s in Stage}:
            names = ", ".join(s.value for s in Stage)
            raise CliError(f"invalid --stage {stage!r}: choose one of {names}", BAD_INPUT)
    query = build_query(
        stage=stage,
        stalled=stalled,
        corporate=corporate,
        startup=startup,
        programme=programme,
        include_closed=include_closed,
        failed=failed,
    )
    if show_query:
        typer.echo(query, err=True)

    async def go(settings: Settings, service: ServiceClient) -> list[Row]:
        rows = await fetch(service, settings.namespace, query, limit, shared_programme(settings))
        return await with_reasons(service, settings.namespace, rows) if failed else rows

    rows = run_service(go)
    if as_json:
        print_json([r.as_dict() for r in rows])
    else:
        show_list([r.as_dict() for r in rows], reasons=failed)


def register(app: typer.Typer) -> None:
    """Add `list` to the app."""
    app.command("list")(list_command)
