"""Where `passerelle audit` reads histories: an export on disk, or a live workflow id's chain.

A SOURCE is either an export (a folder written by `audit export`, its `manifest.json`, or one
history file from `temporal workflow show --output json`) or, when no such path exists, a live
workflow id whose whole chain of runs is fetched from Temporal.

Every source is audited within the caller's programmes (`Auditing`): a live workflow id is read
from the namespace its `collaborations` row names (`passerelle.audit.within`), and a collaboration
of another programme, live or exported, is refused in one line that does not say whether it
exists. A caller of every programme (the keys without a login, a `*:` role) may also audit a
workflow the database has no row of, in the command's namespace.
"""

from dataclasses import dataclass
from pathlib import Path

import asyncpg
from temporalio.service import RPCError

from passerelle.audit.histories import ExportError, Run, fetch_chain, first_run_id, read_exports
from passerelle.audit.keys import check_keys
from passerelle.audit.within import recorded, theirs
from passerelle.cli.base import in_scope
from passerelle.cli.common import CliError, running_database_url
from passerelle.platform.callers import Caller
from passerelle.platform.client import client_for
from passerelle.platform.codec import UnknownKeyError
from passerelle.platform.db import redact_url
from passerelle.platform.scope import RowScope
from passerelle.platform.settings import Settings, in_namespace

NOT_YOURS = "not found in your programmes"


@dataclass(frozen=True)
class Auditing:
    """Who audits: the settings, the caller, and the database saying whose each collaboration is."""

    settings: Settings
    caller: Caller
    database_url: str | None

    @property
    def rows(self) -> RowScope:
        """The collaborations the caller may audit: those of the programmes they read whole (a
        sponsor's login reads no payload, so audits nothing)."""
        return RowScope(self.caller.rows.whole)


async def auditing(settings: Settings, state_dir: Path | None = None, *, temporal: bool = False) -> Auditing:
    """Return who audits (`temporal`: in the namespace of the caller's programme, for a visibility
    query), refusing a caller of some programmes when no database can say which are theirs."""
    settings, caller = await in_scope(settings, temporal=temporal)
    found = Auditing(settings, caller, running_database_url(settings, state_dir))
    if not found.rows.unlimited and found.database_url is None:
        raise CliError(
            "the audit finds your programmes' collaborations in PostgreSQL: set PASSERELLE_DATABASE_URL"
        )
    return found


def readable_runs(runs: list[Run], settings: Settings) -> list[Run]:
    """Return the runs once every key their payloads need is configured, else one clear error."""
    try:
        check_keys(runs, settings)
    except UnknownKeyError as error:
        raise CliError(f"cannot read the history: {error}") from None
    return runs


def _local(source: str) -> list[Run] | None:
    """Return the runs of an export path, or None when `source` is no path (a workflow id)."""
    path = Path(source)
    if not path.exists():
        return None
    try:
        return read_exports([path])
    except ExportError as error:
        raise CliError(str(error)) from None


async def within_programmes(who: Auditing, source: str, runs: list[Run]) -> list[Run]:
    """Return the runs when each belongs to a collaboration the caller may audit; else refuse."""
    if who.rows.unlimited:
        return runs
    ids = {first_run_id(run.history) for run in runs}
    if not ids or await _theirs(who, ids) != ids:
        raise CliError(f"{source}: {NOT_YOURS}")
    return runs


async def only_theirs(who: Auditing, runs: list[Run]) -> list[Run]:
    """Return the runs of the collaborations the caller may audit (a query's others left out)."""
    if who.rows.unlimited or not runs:
        return runs
    mine = await _theirs(who, {first_run_id(run.history) for run in runs})
    return [run for run in runs if first_run_id(run.history) in mine]


async def _theirs(who: Auditing, ids: set[str]) -> set[str]:
    assert who.database_url is not None  # `auditing` requires it of a caller of some programmes
    try:
        return await theirs(who.database_url, sorted(ids), who.rows)
    except (OSError, asyncpg.PostgresError) as err:
        raise CliError(f"cannot read the collaborations from {redact_url(who.database_url)}: {err}") from None


async def namespace_of(who: Auditing, workflow_id: str) -> str:
    """Return the namespace the caller's collaboration `workflow_id` runs in; refuse one outside
    their programmes, or one the caller's programmes run in two namespaces."""
    shared = who.settings.namespaces.shared
    if who.database_url is None:  # a caller of every programme without a database
        return who.settings.namespace
    try:
        found = await recorded(who.database_url, workflow_id, who.rows)
    except (OSError, asyncpg.PostgresError) as err:
        raise CliError(f"cannot read the collaborations from {redact_url(who.database_url)}: {err}") from None
    if not found:
        if who.rows.unlimited:  # not recorded (yet): the command's namespace
            return who.settings.namespace
        raise CliError(f"{workflow_id}: {NOT_YOURS}")
    namespaces = sorted({r.namespace or shared for r in found})
    if len(namespaces) > 1:
        programmes = sorted({r.programme for r in found})
        raise CliError(
            f"{workflow_id} is a collaboration of several programmes ({', '.join(programmes)}): "
            "choose one with --programme"
        )
    return namespaces[0]


async def load_runs(
    who: Auditing,
    source: str,
    run_id: str | None = None,
    all_runs: bool = True,
    *,
    readable: bool = True,
) -> tuple[list[Run], Settings]:
    """Return the runs of an export path, or of a live workflow id's chain, and the settings of
    the namespace they were read from (the command's own for an export).

    `readable` also requires every key the runs need (export copies ciphertext, so needs none).
    """
    settings = who.settings
    runs = _local(source)
    if runs is None:
        settings = in_namespace(settings, await namespace_of(who, source))
        try:
            runs = await fetch_chain(await client_for(settings), source, run_id, all_runs=all_runs)
        except RPCError as error:
            raise CliError(f"{source}: {error.message}") from None
    runs = await within_programmes(who, source, runs)
    return (readable_runs(runs, settings) if readable else runs), settings
