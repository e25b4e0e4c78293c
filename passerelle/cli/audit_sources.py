"""Where `passerelle audit` reads histories: an export on disk, or a live workflow id's chain.

A SOURCE is either an export (a folder written by `audit export`, its `manifest.json`, or one
history file from `temporal workflow show --output json`) or, when no such path exists, a live
workflow id whose whole chain of runs is fetched from Temporal.
"""

from pathlib import Path

from temporalio.service import RPCError

from passerelle.audit.histories import ExportError, Run, fetch_chain, read_exports
from passerelle.audit.keys import check_keys
from passerelle.cli.common import CliError
from passerelle.platform.client import client_for
from passerelle.platform.codec import UnknownKeyError
from passerelle.platform.settings import Settings


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


async def load_runs(
    settings: Settings,
    source: str,
    run_id: str | None = None,
    all_runs: bool = True,
    *,
    readable: bool = True,
) -> list[Run]:
    """Return the runs of an export path, or of a live workflow id's chain.

    `readable` also requires every key the runs need (export copies ciphertext, so needs none).
    """
    runs = _local(source)
    if runs is None:
        try:
            runs = await fetch_chain(await client_for(settings), source, run_id, all_runs=all_runs)
        except RPCError as error:
            raise CliError(f"{source}: {error.message}") from None
    return readable_runs(runs, settings) if readable else runs
