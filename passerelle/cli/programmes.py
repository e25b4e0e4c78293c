"""`passerelle programme add|list`: each programme in a Temporal namespace of its own.

`add` registers the namespace (`PASSERELLE_PROGRAMME_NAMESPACE` from the programme's slug), with
its retention, the programme's name in its description, Passerelle's search attributes and the
programme's daily digest Schedule. From then on `start` and `import` start the programme's new
collaborations there, the workers serve it within `PASSERELLE_PROGRAMME_POLL_SECONDS`, and the
Web UI's namespace switcher shows it. Collaborations already running in the shared namespace
finish there (docs/operators.md, "Programmes").
"""

import asyncio
import os
from typing import Annotated

import typer

from passerelle.cli.base import in_scope, print_json
from passerelle.cli.common import CliError, Json
from passerelle.platform.callers import scope_of
from passerelle.platform.client import client_for
from passerelle.platform.provision import add_programme, programme_namespaces
from passerelle.platform.settings import load_settings

app = typer.Typer(help="Programmes, each in a Temporal namespace of its own.", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(help='The programme as its collaborations name it ("Coalition Next")')
    ],
    retention_days: Annotated[
        int, typer.Option(help="Days Temporal keeps a closed collaboration's history", min=1, max=3650)
    ] = 30,
    operators: Annotated[
        str | None, typer.Option(help="Who gets the programme's daily digest (comma-separated e-mails)")
    ] = None,
) -> None:
    """Register a programme's own namespace, its search attributes and its digest (idempotent)."""

    async def main() -> None:
        settings, caller = await in_scope(load_settings(), temporal=False)
        if not (caller.scope.everything or "*:admin" in caller.scope.roles):
            raise CliError("only an admin of every programme (*:admin) adds a programme")
        client = await client_for(settings)
        done = await add_programme(
            client,
            name,
            settings.namespaces,
            settings.task_queue,
            os.environ,
            retention_days=retention_days,
            operators=operators,
        )
        state = "registered" if done.registered else "there"
        typer.echo(f"programme {done.name} ({done.slug}) in namespace {done.namespace}: {state}")
        added = done.search_attributes
        typer.echo(f"  search attributes: {', '.join(added) if added else 'all present'}")
        for schedule_id, outcome in done.schedules.items():
            typer.echo(f"  schedule {schedule_id} {outcome}")

    asyncio.run(main())


@app.command("list")
def list_programmes(as_json: Json = False) -> None:
    """List the programmes with a namespace of their own that you hold a role in."""

    async def main() -> dict[str, str]:
        settings = load_settings()
        scope = await scope_of(settings)  # every programme of the login: none is chosen here
        client = await client_for(settings)
        found = await programme_namespaces(client.service_client, settings.namespaces)
        return {ns: slug for ns, slug in sorted(found.items()) if scope.sees(slug)}

    mine = asyncio.run(main())
    if as_json:
        print_json([{"programme": slug, "namespace": ns} for ns, slug in mine.items()])
        return
    for namespace, slug in mine.items():
        typer.echo(f"{slug}\t{namespace}")
    if not mine:
        typer.echo("no programme of yours has a namespace of its own (passerelle programme add)")


def register(root: typer.Typer) -> None:
    """Add `programme` to the app."""
    root.add_typer(app, name="programme")
