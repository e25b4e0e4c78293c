"""`passerelle playbook apply|list|show|diff`: a programme's rules as immutable numbered versions.

Reads and writes PostgreSQL only (`PASSERELLE_DATABASE_URL`, or the embedded PostgreSQL of the
state folder): no Temporal needed. A running collaboration keeps the version it started under
until it adopts another (`passerelle adopt-playbook`, or `bulk adopt-playbook`).

Within the caller's programmes (`passerelle.platform.scope`): `apply` needs the playbook's
programme's `admin` role (or `*:admin`); `list`, `show` and `diff` read the programmes the caller
reads (a sponsor reads none), `list` all of them, or the one `--programme` chooses.
"""

import asyncio
import difflib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer

from activities import playbooks as store
from passerelle.cli.common import BAD_INPUT, CliError, Json, StateDir, caller_within, database_url, print_json
from passerelle.cli.consoles import plain_console
from passerelle.intake.playbooks import PlaybookRefused, read
from passerelle.platform.callers import OutsideScope, choose, scope_of
from passerelle.platform.db import create_pool
from passerelle.platform.scope import ADMIN
from passerelle.platform.settings import load_settings
from schemas.actors import programme_slug
from schemas.moments import minute
from schemas.playbooks import PlaybookVersion

app = typer.Typer(help="Apply, list, show and compare programme playbooks (docs/playbooks.md).")
T = TypeVar("T")


def _with_pool(state_dir: Path | None, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def go(url: str) -> T:
        pool = await create_pool(url, max_size=2)
        try:
            return await work(pool)
        finally:
            await pool.close()

    with database_url(state_dir) as url:
        return asyncio.run(go(url))


def _require(found: PlaybookVersion | None, programme: str, version: int | None) -> PlaybookVersion:
    if found is None:
        which = f"version {version}" if version else "playbook"
        raise CliError(f"programme {programme!r} has no {which} (see `passerelle playbook list`)", BAD_INPUT)
    return found


def _reader_of(programme: str) -> None:
    """Refuse a caller who does not read `programme` (a name or slug): no role in it, or its
    sponsor only."""
    caller = caller_within(programme)
    assert caller.programme is not None  # named
    if not caller.scope.reads(caller.programme):
        raise OutsideScope(
            f"a sponsor of programme {caller.programme} reads its report and export, not its playbook"
        )


def _readable() -> Callable[[str], bool]:
    """Return whether the caller reads a programme (its name): one of theirs, and `--programme`'s
    when it chooses one."""
    settings = load_settings()
    scope = asyncio.run(scope_of(settings))
    chosen = choose(settings, scope).programme if settings.programme else None
    return lambda programme: (
        scope.reads(programme_slug(programme)) and chosen in (None, programme_slug(programme))
    )


def _text(version: PlaybookVersion) -> str:
    """Return a version as the canonical JSON `show` prints and `diff` compares."""
    return json.dumps(version.playbook.model_dump(mode="json"), indent=2, ensure_ascii=False)


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="The playbook's TOML file")],
    by: Annotated[str, typer.Option("--by", help="Who applies it (name or e-mail)")],
    state_dir: StateDir = None,
    as_json: Json = False,
) -> None:
    """Store FILE as its programme's next playbook version (nothing new if it is unchanged)."""
    try:
        parsed = read(file)
    except PlaybookRefused as err:
        raise CliError(f"invalid playbook {err}", BAD_INPUT) from None
    if not by.strip():
        raise CliError("--by: must name who applies the playbook", BAD_INPUT)
    caller = caller_within(parsed.playbook.programme)
    assert caller.programme is not None  # named
    if not caller.scope.holds(caller.programme, ADMIN):
        raise OutsideScope(
            f"applying the playbook of programme {caller.programme} needs the role "
            f"{caller.programme}:{ADMIN} (or *:{ADMIN})"
        )
    done = _with_pool(state_dir, lambda pool: store.apply(pool, parsed.playbook, parsed.source, by.strip()))
    if as_json:
        print_json({"created": done.created, **done.version.model_dump(mode="json")})
    elif done.created:
        typer.echo(f"applied {done.version.label} (by {done.version.applied_by})")
    else:
        typer.echo(
            f"unchanged: {done.version.label} already says this (applied {minute(done.version.applied_at)})"
        )


@app.command("list")
def list_(state_dir: StateDir = None, as_json: Json = False) -> None:
    """List every programme of yours with a playbook and its current version."""
    readable = _readable()
    rows = [r for r in _with_pool(state_dir, store.programmes) if readable(r.programme)]
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    from rich.table import Table

    table = Table("programme", "current version", "versions", "last applied (UTC)")
    for r in rows:
        table.add_row(r.programme, f"v{r.current}", str(r.versions), minute(r.applied_at))
    plain_console().print(table)
    typer.echo(f"{len(rows)} programme(s) with a playbook")


@app.command()
def show(
    programme: str,
    version: Annotated[int | None, typer.Option("--version", min=1, help="Default: the current one")] = None,
    source: Annotated[bool, typer.Option("--source", help="Print the TOML exactly as applied")] = False,
    state_dir: StateDir = None,
    as_json: Json = False,
) -> None:
    """Show a programme's playbook: its current version, or --version N."""
    _reader_of(programme)

    async def work(pool: asyncpg.Pool) -> tuple[PlaybookVersion | None, str | None]:
        found = await store.get(pool, programme, version)
        text = await store.source(pool, programme, found.version) if found and source else None
        return found, text

    found, text = _with_pool(state_dir, work)
    shown = _require(found, programme, version)
    if as_json:
        print_json(shown)
    elif text is not None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        typer.echo(f"{shown.label}, applied by {shown.applied_by} on {minute(shown.applied_at)}")
        typer.echo(f"sha256 {shown.sha256}")
        typer.echo(_text(shown))


@app.command()
def diff(programme: str, a: int, b: int, state_dir: StateDir = None) -> None:
    """Show what changed between two versions of a programme's playbook."""
    _reader_of(programme)

    async def work(pool: asyncpg.Pool) -> tuple[PlaybookVersion | None, PlaybookVersion | None]:
        return await store.get(pool, programme, a), await store.get(pool, programme, b)

    old, new = _with_pool(state_dir, work)
    old, new = _require(old, programme, a), _require(new, programme, b)
    lines = difflib.unified_diff(
        _text(old).splitlines(), _text(new).splitlines(), f"{old.label}", f"{new.label}", lineterm=""
    )
    out = "\n".join(lines)
    typer.echo(out or f"{old.label} and {new.label} say the same")


def register(parent: typer.Typer) -> None:
    """Add `playbook` to the app."""
    parent.add_typer(app, name="playbook")
