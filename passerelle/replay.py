"""Replay saved histories on every core: the audit's fast path.

Each process runs the SDK's `Replayer` with the worker's workflow classes and data converter over
a batch of histories; the verdict for each history is the Replayer's own. Processes are `spawn`ed
so no Rust runtime is inherited through `fork`.

Sandbox: `sandboxed=True` replays in the worker's own sandbox (`worker.workflow_runner()`).
The default replays without it, about 2.5× faster per core (the sandbox's cost is per activation,
not per import). The audit stays sound: the verdict is core's comparison of every command the
code emits against the recorded events, with or without the sandbox. The sandbox is a guard on
the *code* (no clock, no I/O, no shared globals), not on a history: the same code runs sandboxed
in every worker and test, where a forbidden call fails at once, and `tests/unit/test_workflow_purity.py`
bans I/O imports; Passerelle's workflow modules keep no mutable module state, so histories
replayed one after the other in a process cannot leak into each other.

(`passerelle audit replay`, built on issue 6, has the same design in `passerelle.audit.replay`;
`bench.replay_bench` uses that one when it is present and this one otherwise.)
"""

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from passerelle.client import DATA_CONVERTER

Item = tuple[str, bytes]  # (workflow id, serialized `History`): cheap to send to a process


async def _replay(items: Sequence[Item], sandboxed: bool) -> list[str | None]:
    from worker import WORKFLOWS, workflow_runner

    runner = workflow_runner() if sandboxed else UnsandboxedWorkflowRunner()
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=runner, data_converter=DATA_CONVERTER)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for workflow_id, blob in items:
            yield WorkflowHistory(workflow_id, History.FromString(blob).events)

    errors: list[str | None] = []
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            errors.append(None if result.replay_failure is None else str(result.replay_failure))
    return errors


def replay_batch(items: Sequence[Item], sandboxed: bool = False) -> list[str | None]:
    """Replay serialized histories in this process; return None or the failure for each."""
    return asyncio.run(_replay(items, sandboxed))


async def replay_histories(
    histories: Sequence[WorkflowHistory], jobs: int | None = None, *, sandboxed: bool = False
) -> list[str | None]:
    """Replay histories on `jobs` processes (default: every core); one verdict each, in order."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    items = [(h.workflow_id, History(events=h.events).SerializeToString()) for h in histories]
    if jobs == 1:
        return await _replay(items, sandboxed)
    size = max(1, min(50, len(items) // (jobs * 2)))  # large enough to amortise process start-up
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [loop.run_in_executor(pool, replay_batch, batch, sandboxed) for batch in batches]
        return [error for batch in await asyncio.gather(*futures) for error in batch]


def load_history(path: Path) -> WorkflowHistory:
    """Read a history exported as JSON (Web UI, `temporal workflow show -o json`, fetch_history)."""
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def replay_files(
    paths: Sequence[Path], jobs: int | None = None, *, sandboxed: bool = False
) -> list[str | None]:
    """Replay history JSON files (parsed here, once) on `jobs` processes, in the order given."""
    return await replay_histories([load_history(p) for p in paths], jobs, sandboxed=sandboxed)
