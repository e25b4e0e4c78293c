"""`passerelle demo`'s planned steps: a few imported collaborations get a meeting held yesterday
and a step ahead (`passerelle.devstack.demo.demo_steps`), sent as the update commands send them.

So the report's time to first meeting and its steps, and the digest's coming steps and overdue
decisions, have something to show on a fresh install. A collaboration that already has a planned
step (a second `passerelle demo`) is left alone, so a re-run plans nothing twice.
"""

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import typer
from temporalio.client import Client

from passerelle.cli.common import database_url, run_as
from passerelle.devstack.demo import demo_steps
from passerelle.platform.callers import Caller
from passerelle.platform.db import create_pool
from passerelle.platform.pressure import execute_update
from passerelle.platform.settings import Settings
from schemas import CollaborationStatus
from workflows.domain.updates import UPDATES

WITH_STEPS = """
SELECT DISTINCT workflow_id FROM milestones WHERE workflow_id = ANY($1::text[]) AND kind = 'step_planned'
"""


async def _with_steps(url: str, workflow_ids: list[str]) -> set[str]:
    pool = await create_pool(url, max_size=1)
    try:
        return {r["workflow_id"] for r in await pool.fetch(WITH_STEPS, workflow_ids)}
    finally:
        await pool.close()


def plan_demo_steps(rows: list[dict[str, str]], today: date, state_dir: Path | None) -> None:
    """Send the demo's planned steps to the imported collaborations that have none yet."""
    wanted = demo_steps(rows, today)
    with database_url(state_dir) as url:
        done = asyncio.run(_with_steps(url, [w for w, _ in wanted]))
    todo = [(w, updates) for w, updates in wanted if w not in done]
    for workflow_id, updates in todo:

        async def go(
            settings: Settings, client: Client, caller: Caller, wid: str = workflow_id, sent: Any = updates
        ) -> None:
            handle = client.get_workflow_handle(wid)
            # With a login, the steps are the caller's: a verified actor's `by` is their own address.
            by = {"by": caller.scope.email} if caller.scope.email else {}
            for name, data in sent:
                request = UPDATES[name].model.model_validate(data | by)
                await execute_update(handle, name, request, result_type=CollaborationStatus)

        run_as(go, workflow_id=workflow_id)
    typer.echo(f"{len(todo)} demo collaboration(s) given planned steps (a meeting held, a step ahead)")
