"""Start the checked rows of a spreadsheet: one `CollaborationWorkflow` each, never twice.

A row whose workflow id is already recorded in PostgreSQL is skipped, and the start uses
`REJECT_DUPLICATE`, so even a completed collaboration is not started again: an interrupted import
resumes by running it again.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from passerelle.intake.rows import ImportRow
from workflows.collaboration import CollaborationWorkflow

SELECT_KNOWN = "SELECT DISTINCT workflow_id FROM collaborations WHERE workflow_id = ANY($1::text[])"
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
) -> ImportResult:
    """Start one workflow per row, at most `concurrency` at once; skip those already there."""
    known: set[str] = set()
    if pool is not None:
        known = {r["workflow_id"] for r in await pool.fetch(SELECT_KNOWN, [r.workflow_id for r in rows])}
    result, gate = ImportResult(), asyncio.Semaphore(concurrency)

    async def one(row: ImportRow) -> None:
        started = False
        if row.workflow_id not in known:
            async with gate:
                try:
                    await client.start_workflow(
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
