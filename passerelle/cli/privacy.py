"""`passerelle privacy`: people's data rights (docs/privacy.md). `export` answers an access request,
`erase` an erasure request, each within the caller's programmes (`Caller.rows`): a login of
programme A finds, and erases, the address in A's collaborations only."""

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError
from rich.progress import Progress
from temporalio.client import Client

from passerelle.cli.common import BAD_INPUT, CliError, StateDir, database_url, run_as
from passerelle.platform.callers import Caller
from passerelle.platform.client import converter_for, store_for
from passerelle.platform.db import create_pool
from passerelle.platform.settings import Settings

if TYPE_CHECKING:
    from passerelle.privacy.erasure import ErasurePlan

app = typer.Typer(
    help="People's data rights: what is held about a person, and its erasure.", no_args_is_help=True
)


@app.command()
def export(
    email: Annotated[str, typer.Option(help="The person's e-mail address")],
    out: Annotated[Path, typer.Option(help="Where to write the JSON document")] = Path("access-request.json"),
    state_dir: StateDir = None,
) -> None:
    """Write every PostgreSQL row and decrypted Temporal payload that names EMAIL in your programmes,
    as one JSON file."""
    from passerelle.privacy.access import access_document  # the audit code: only here

    address = _address(email, "--email")
    with database_url(state_dir) as url:

        async def go(settings: Settings, client: Client, caller: Caller) -> dict[str, Any]:
            programmes = _programmes(caller)
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
                        programmes=programmes,
                        shared=settings.namespaces.shared,
                    )
            finally:
                await pool.close()

        document = run_as(go)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    rows = sum(len(v) for v in document["postgresql"].values())
    typer.echo(
        f"wrote {out}: {rows} PostgreSQL row(s) and {len(document['temporal'])} Temporal payload(s) "
        f"in {len(document['collaboration_ids'])} collaboration(s)"
    )


def _programmes(caller: Caller) -> frozenset[str] | None:
    """Return the programmes a data request reaches: the caller's (None: every programme)."""
    whole = caller.rows.whole
    if whole is not None and not whole:
        raise CliError(
            "your login reads no collaboration of this programme (a sponsor's reads reports only): "
            "a data request needs another of its roles"
        )
    return whole


def _administered(caller: Caller, programmes: frozenset[str] | None) -> frozenset[str] | None:
    """Return the programmes an erasure reaches, refusing a login that is not their admin: an
    erasure changes what the collaborations hold (`erase_contact` is an admin's update)."""
    scope = caller.scope
    lacking = sorted(p for p in (programmes or {"*"}) if not scope.holds(p, "admin"))
    if lacking:
        which = "every programme (*:admin)" if lacking == ["*"] else ", ".join(lacking)
        raise CliError(f"an erasure is an admin's: your login is not the admin of {which}")
    return programmes


def _address(email: str, option: str) -> str:
    try:
        return str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise CliError(f"{option}: {email!r} is not an e-mail address", BAD_INPUT) from None


@app.command()
def erase(
    email: Annotated[str, typer.Option(help="The person's e-mail address")],
    by: Annotated[str, typer.Option(help="Who erases (recorded in the erasure record)")],
    reason: Annotated[str, typer.Option(help="Why, e.g. the request's reference (recorded)")],
    replacement: Annotated[
        str | None, typer.Option(help="A new contact address for the running collaborations' reminders")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would change; change nothing")
    ] = False,
    state_dir: StateDir = None,
) -> None:
    """Erase EMAIL in your programmes: pseudonymise its rows, re-key its running collaborations, shred
    closed ones."""
    from passerelle.privacy.erasure import ErasureFailed, erase, plan  # the privacy code: only here

    address = _address(email, "--email")
    new_contact = _address(replacement, "--replacement") if replacement else None
    if new_contact is not None and new_contact.lower() == address.lower():
        raise CliError("--replacement: must differ from --email", BAD_INPUT)
    for option, value in (("--by", by), ("--reason", reason)):
        if not value.strip():
            raise CliError(f"{option}: must not be empty", BAD_INPUT)
    with database_url(state_dir) as url:

        async def go(settings: Settings, client: Client, caller: Caller) -> None:
            programmes = _administered(caller, _programmes(caller))
            store = store_for(dataclasses.replace(settings, database_url=url))
            if store is None:
                raise CliError("erasure needs the encryption keys (PASSERELLE_ENCRYPTION_KEYS)")
            pool = await create_pool(url, max_size=4)
            try:
                found = await plan(
                    pool,
                    client,
                    address,
                    store.pseudonym_secret,
                    programmes=programmes,
                    namespaces=settings.namespaces,
                )
                _show_plan(found, dry_run)
                if dry_run or found.empty:
                    return
                try:
                    report = await erase(
                        pool,
                        client,
                        store,
                        found,
                        by=by,
                        reason=reason,
                        replacement=new_contact,
                        on_step=typer.echo,
                    )
                except ErasureFailed as err:
                    raise CliError(str(err)) from None
            finally:
                await pool.close()
            typer.echo(
                f"erasure {report.erasure_id} at {report.erased_at:%Y-%m-%d %H:%M:%S %Z}: "
                f"{report.pseudonym}, {report.rows_changed} row(s) pseudonymised, "
                f"{report.keys_destroyed} data key(s) destroyed, {len(report.rekeyed)} running "
                f"collaboration(s) re-keyed, {len(report.shredded)} closed one(s) shredded"
            )

        run_as(go)


def _rows_of(found: "ErasurePlan", collaboration_id: str) -> list[str]:
    """Return one line per table naming each row of the collaboration the erasure changes."""
    keys: dict[str, list[str]] = {}
    for table, key, cid in found.rows:
        if cid != collaboration_id:
            continue
        shown = key.removeprefix(f"{cid}/")  # milestones `seq`, notifications `seq/event`
        keys.setdefault(table, []).append("its row" if table == "collaborations" else f"#{shown}")
    return [f"{table}: {', '.join(shown)}" for table, shown in sorted(keys.items())]


def _show_plan(found: "ErasurePlan", dry_run: bool) -> None:
    verb = "would" if dry_run else "will"
    typer.echo(f"{found.address} becomes {found.pseudonym}")
    if found.programmes is not None:
        typer.echo(f"within programme(s) {', '.join(sorted(found.programmes))} only (your login's)")
    earlier = found.under_way
    if earlier is not None:
        typer.echo(
            f"erasure {earlier['erasure_id']}, begun {earlier['erased_at']:%Y-%m-%d %H:%M:%S %Z} "
            f"by {earlier['erased_by']}, is not finished: this run {verb} finish it"
        )
    if found.empty:
        typer.echo("nothing names this address: nothing to erase")
        return
    counts: dict[str, int] = {}
    for table, _, _ in found.rows:
        counts[table] = counts.get(table, 0) + 1
    summary = ", ".join(f"{table} {n}" for table, n in sorted(counts.items())) or "none"
    typer.echo(f"  {len(found.rows)} row(s) {verb} be pseudonymised ({summary})")
    for chain in found.chains:
        action = (
            "erase_contact, then continue under a new data key; the older keys destroyed"
            if chain.running
            else "closed: every data key destroyed, its history unreadable"
        )
        typer.echo(f"  {chain.key} ({', '.join(chain.collaboration_ids)}): {verb} get {action}")
        for cid in chain.collaboration_ids:
            for line in _rows_of(found, cid):
                typer.echo(f"    {cid} {line}")
    names = {"playbooks": "playbook", "erasures": "erasure record", "data_keys": "data key"}
    for table, key, owner in found.rows:
        if owner is None:
            typer.echo(f"  {names.get(table, table)} {key} {verb} be pseudonymised")


def register(root: typer.Typer) -> None:
    """Add `privacy` to the app."""
    root.add_typer(app, name="privacy")
