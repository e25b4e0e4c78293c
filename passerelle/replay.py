"""Replay saved histories on every core with the worker's own sandbox: the audit's fast path.

Each process runs the SDK's `Replayer` configured exactly as the worker runs the workflows (same
classes, same `worker.workflow_runner()` sandbox with its deterministic pass-through modules, same
data converter) over a batch of histories; the verdict for each history is the Replayer's own.
Processes are `spawn`ed so no Rust runtime is inherited through `fork`.

(`passerelle audit replay`, built on issue 6, has the same design in `passerelle.audit.replay`;
`bench.replay_bench` uses that one when it is present and this one otherwise.)
"""

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from passerelle.client import DATA_CONVERTER


async def _replay(paths: Sequence[str]) -> list[str | None]:
    from worker import WORKFLOWS, workflow_runner

    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=DATA_CONVERTER)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in paths:
            yield WorkflowHistory.from_json(Path(path).stem, Path(path).read_text())

    errors: list[str | None] = []
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            errors.append(None if result.replay_failure is None else str(result.replay_failure))
    return errors


def replay_batch(paths: Sequence[str]) -> list[str | None]:
    """Replay history JSON files in this process; return None or the failure for each."""
    return asyncio.run(_replay(paths))


async def replay_files(paths: Sequence[Path], jobs: int | None = None) -> list[str | None]:
    """Replay history JSON files on `jobs` processes (default: every core), in the order given."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    items = [str(p) for p in paths]
    if jobs == 1:
        return await _replay(items)
    size = max(1, min(50, len(items) // (jobs * 2)))  # large enough to amortise process start-up
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [loop.run_in_executor(pool, replay_batch, batch) for batch in batches]
        return [error for batch in await asyncio.gather(*futures) for error in batch]
