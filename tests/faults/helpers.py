"""Shared pieces of the fault tests: a full lifecycle, the rows it must leave, a worker process."""

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from schemas import Closure, MilestoneRequest, Outcome, Stage, StageChange
from tests.integration.privacy_rows import settled
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

FORWARD = [Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT]
# started, 4 stage changes, 1 milestone (in pilot), closed
EXPECTED_KINDS = ["started", "stage_changed", "stage_changed", "milestone", "stage_changed",
                  "stage_changed", "closed"]  # fmt: skip
NOTIFIED_KINDS = {"started", "stage_changed", "closed"}  # milestones notify nobody

ROWS = """
SELECT m.workflow_id, m.seq, m.kind FROM milestones m
WHERE m.workflow_id = ANY($1::text[]) ORDER BY m.workflow_id, m.seq
"""
DELIVERIES = """
SELECT n.workflow_id, d.idempotency_key, d.channel, d.status, d.attempts, d.result
FROM deliveries d JOIN notifications n USING (idempotency_key)
WHERE n.workflow_id = ANY($1::text[])
"""


async def update(handle: WorkflowHandle[Any, Any], name: Any, request: Any, step: int) -> None:
    """Send an update as a patient client does while workers crash.

    After a worker dies mid-task, the server refuses updates until a new worker completes the
    retried workflow task (`Workflow Task in failed state`, FAILED_PRECONDITION), or the call's
    deadline passes while no worker runs it (`WorkflowUpdateRPCTimeoutOrCancelledError`): it is
    sent again, under the same update id, so it can never apply twice.
    """
    async with asyncio.timeout(120):
        while True:
            try:
                await handle.execute_update(name, request, id=f"{handle.id}-{step}")
                return
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                await asyncio.sleep(0.5)
            except RPCError as err:
                if err.status != RPCStatusCode.FAILED_PRECONDITION:
                    raise
                await asyncio.sleep(0.5)


async def full_lifecycle(
    client: Client, workflow_id: str, task_queue: str, pause: random.Random | None = None
) -> Any:
    """Start, walk every stage (a milestone in pilot), close deployed; return the final status."""
    handle = await start(client, workflow_id, task_queue)
    for step, stage in enumerate(FORWARD):
        if pause:
            await asyncio.sleep(pause.uniform(0, 0.4))
        await update(handle, CollaborationWorkflow.advance, StageChange(to=stage, by="ops"), step)
        if stage is Stage.PILOT:
            milestone = MilestoneRequest(kind="kick-off", by="ops")
            await update(handle, CollaborationWorkflow.record_milestone, milestone, 10 + step)
    closure = Closure(outcome=Outcome.DEPLOYED, by="ops", reason="live")
    await update(handle, CollaborationWorkflow.close, closure, 99)
    return await handle.result()


async def settle(pool: asyncpg.Pool, workflow_ids: list[str]) -> None:
    """Wait, while a worker runs, until every delivery is sent or failed: a closed run hands those
    still retrying to its DeliveryWorkflow, whose activities may be backing off for up to a
    minute after a fault."""
    await settled(pool, workflow_ids, wait=120)


async def assert_exact_rows(pool: asyncpg.Pool, workflow_ids: list[str]) -> list[asyncpg.Record]:
    """Every collaboration has exactly its seven rows, numbered 1..7, in the expected order; return
    their deliveries (settle them first, with a worker still running: `settle`)."""
    rows = await pool.fetch(ROWS, workflow_ids)
    by_id: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        by_id.setdefault(r["workflow_id"], []).append((r["seq"], r["kind"]))
    expected = list(enumerate(EXPECTED_KINDS, start=1))
    wrong = {wid: got for wid in workflow_ids if (got := by_id.get(wid)) != expected}
    assert not wrong, f"{len(wrong)} collaboration(s) with missing or extra rows: {list(wrong.items())[:3]}"
    return await pool.fetch(DELIVERIES, workflow_ids)


def expected_keys(statuses: list[Any]) -> set[str]:
    """Return the idempotency keys the collaborations' notifications must carry."""
    return {
        f"{s.collaboration_id}/{e.seq}/{e.kind.value}"
        for s in statuses
        for e in s.history
        if e.kind.value in NOTIFIED_KINDS
    }


class WorkerProcess:
    """`passerelle worker` as a child process, its output appended to one log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._running_before = 0

    def _running_lines(self) -> int:
        return self.log.read_text(errors="replace").count('"worker running"') if self.log.exists() else 0

    async def start(self) -> None:
        self._running_before = self._running_lines()
        exe = str(Path(sys.executable).parent / "passerelle")
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                exe, "worker", env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        self.starts += 1

    async def running(self) -> None:
        """Wait (up to 30 s) until this incarnation logs `worker running`: it polls from then on."""
        async with asyncio.timeout(30):
            while self._running_lines() <= self._running_before:
                assert self.proc is not None and self.proc.returncode is None, f"the worker died: {self.log}"
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no flush, as a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM and wait for the graceful shutdown; return the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout=60)

    def lines(self) -> list[dict[str, Any]]:
        """Return the JSON log lines the worker wrote (other lines skipped)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by SIGKILL
        return out
