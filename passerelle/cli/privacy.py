"""`passerelle privacy`: people's data rights (docs/privacy.md). `export` answers an access request."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError
from rich.progress import Progress
from temporalio.client import Client

from passerelle.cli.common import BAD_INPUT, CliError, StateDir, database_url, run
from passerelle.platform.client import converter_for
from passerelle.platform.db import create_pool
from passerelle.platform.settings import Settings

app = typer.Typer(help="People's data rights: what is held about a person.", no_args_is_help=True)


@app.command()
def export(
    email: Annotated[str, typer.Option(help="The person's e-mail address")],
    out: Annotated[Path, typer.Option(help="Where to write the JSON document")] = Path("access-request.json"),
    state_dir: StateDir = None,
) -> None:
    """Write every PostgreSQL row and decrypted Temporal payload that names EMAIL, as one JSON file."""
    from passerelle.audit.access import access_document  # the audit code: only here

    try:
        address = str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise CliError(f"--email: {email!r} is not an e-mail address", BAD_INPUT) from None
    with database_url(state_dir) as url:

        async def go(settings: Settings, client: Client) -> dict[str, Any]:
            pool = await create_pool(url, max_size=2)
            try:
                with Progress(transient=True) as progress:
                    task = progress.add_task("collaborations", total=None)
                    return await access_document(
                        client,
                        converter_for(settings),
                        pool,
                        address,
                        on_start=lambda total: progress.update(task, total=total),
                        on_done=lambda: progress.advance(task),
                    )
            finally:
                await pool.close()

        document = run(go)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    rows = sum(len(v) for v in document["postgresql"].values())
    typer.echo(
        f"wrote {out}: {rows} PostgreSQL row(s) and {len(document['temporal'])} Temporal payload(s) "
        f"in {len(document['collaboration_ids'])} collaboration(s)"
    )


def register(root: typer.Typer) -> None:
    """Add `privacy` to the app."""
    root.add_typer(app, name="privacy")
