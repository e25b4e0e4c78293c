"""Start the checked rows of a spreadsheet: one `CollaborationWorkflow` each, never twice.

A row whose workflow id is already recorded in PostgreSQL for its programme is skipped, and the
start uses `REJECT_DUPLICATE`, so even a completed collaboration is not started again: an
interrupted import resumes by running it again.

Each row starts in the namespace of its programme (`namespace_of`: the programme's own when it
has one, the shared one otherwise; `passerelle.platform.programmes`), on the one connection of
`client` (`client_in`). Two programmes may each hold a collaboration of one workflow id: a row is
known only when its own programme recorded it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from passerelle.intake.rows import ImportRow
from passerelle.platform.client import client_in
from schemas.actors import programme_slug
from workflows.collaboration import CollaborationWorkflow

SELECT_KNOWN = """
SELECT DISTINCT workflow_id, programme_slug FROM collaborations WHERE workflow_id = ANY($1::text[])
"""
# Which namespace a programme (its slug) starts in.
NamespaceOf = Callable[[str], Awaitable[str]]
COUNT_RECORDED = "SELECT count(DISTINCT workflow_id) FROM collaborations WHERE workflow_id = ANY($1::text[])"


@dataclass
class ImportResult:
    """What an import did: workflow ids started and skipped (already there)."""

    started: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


async def start_imports(
    client: Client,
    rows: list[ImportRow],
    task_queue: str,
    *,
    pool: asyncpg.Pool | None = None,
    concurrency: int = 8,
    on_done: Callable[[ImportRow, bool], None] = lambda row, started: None,
    namespace_of: NamespaceOf | None = None,
) -> ImportResult:
    """Start one workflow per row, at most `concurrency` at once, in its programme's namespace
    (`namespace_of`; the client's without it); skip those already there."""
    known: set[tuple[str, str]] = set()
    if pool is not None:
        found = await pool.fetch(SELECT_KNOWN, [r.workflow_id for r in rows])
        known = {(r["workflow_id"], r["programme_slug"]) for r in found}
    result, gate = ImportResult(), asyncio.Semaphore(concurrency)

    async def one(row: ImportRow) -> None:
        started = False
        slug = programme_slug(row.request.programme)
        if (row.workflow_id, slug) not in known:
            async with gate:
                own = client if namespace_of is None else client_in(client, await namespace_of(slug))
                try:
                    await own.start_workflow(
                        CollaborationWorkflow.run,
                        row.request,
                        id=row.workflow_id,
                        task_queue=task_queue,
                        # Never twice under one id, even once the first has completed.
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        static_summary=f"{row.request.corporate.name} × {row.request.startup.name}: "
                        f"{row.request.topic} (imported)",
                    )
                    started = True
                except WorkflowAlreadyStartedError:
                    pass
        (result.started if started else result.skipped).append(row.workflow_id)
        on_done(row, started)

    await asyncio.gather(*(one(row) for row in rows))
    return result


async def wait_recorded(
    pool: asyncpg.Pool,
    workflow_ids: list[str],
    *,
    seconds: float = 300,
    on_progress: Callable[[int], None] = lambda recorded: None,
) -> int:
    """Wait until workers have recorded these collaborations (at most `seconds`); return how many are."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        recorded: int = await pool.fetchval(COUNT_RECORDED, workflow_ids)
        on_progress(recorded)
        if recorded >= len(workflow_ids) or loop.time() > deadline:
            return recorded
        await asyncio.sleep(0.5)
