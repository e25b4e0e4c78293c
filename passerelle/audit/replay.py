"""Replay histories against the current workflow code, on every core.

Each history is replayed by the SDK's own `Replayer`, configured as the worker runs the
workflows: same workflow classes, same data converter (the settings', so encrypted histories
decrypt with the configured keys and clear ones read as they are), and, when asked (`sandboxed`),
the same sandboxed runner (`worker.workflow_runner()`, whose pass-through modules are
deterministic and side-effect free).
Speed comes from running several replayers at once, one per process (`spawn`ed, so no Rust
runtime is inherited through `fork`), each replaying a batch of histories; the verdict for each
history is the Replayer's own, so the result is the same as replaying them one by one.

`sandboxed=False` (what `audit replay` does for the worker's own workflows unless `--sandboxed`)
skips the sandbox and runs activations inline, which is faster per core (the sandbox costs time
on every activation, not only on imports; figures in docs/benchmarks.md). The audit stays sound:
the verdict is still Core's comparison of every command the code emits against the recorded
events. The sandbox guards the *code* (no clock, no I/O, no shared globals), not a history:
workers pass the `workflows` package through it too, `tests/unit/test_workflow_purity.py`
refuses in its source the imports and calls the sandbox would, and the workflow modules keep no
mutable module state, so histories replayed one after another cannot leak into each other.
Classes an auditor names (`--workflow`) are not checked by the suite, so they replay sandboxed
by default.
"""

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from passerelle.audit.histories import Run
from passerelle.platform.client import converter_for
from passerelle.platform.sdk_shortcuts import divergence
from passerelle.platform.settings import Settings

REPLAY_NAMESPACE = "ReplayNamespace"  # the SDK's, for a history whose namespace is not known
IN_PROCESS_BELOW = 8  # fewer histories than this: a process pool costs more than it saves


@dataclass(frozen=True)
class ReplayOutcome:
    """The verdict on one run's history."""

    workflow_id: str
    run_id: str
    events: int
    error: str | None = None
    nondeterministic: bool = False
    event_id: int | None = None  # the event Core could not match, when named (platform.sdk_shortcuts)
    event_type: str | None = None
    erased: str | None = None  # the history's data key was destroyed: nothing left to replay

    @property
    def passed(self) -> bool:
        """Return True when the current code reproduces the history exactly (or it was erased)."""
        return self.error is None


def default_workflows() -> list[type]:
    """Return the workflow classes the worker registers."""
    from passerelle.platform.worker import WORKFLOWS

    return list(WORKFLOWS)


def _event_type(history: History, event_id: int | None) -> str | None:
    """Return the type of the history's event `event_id` (`TIMER_STARTED`...), None if not there."""
    if event_id is None:
        return None
    for event in history.events:
        if event.event_id == event_id:
            return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return None


# A serialized run: workflow id, run id, History bytes, and the namespace it ran in (None: unknown).
Serialized = tuple[str, str, bytes, str | None]


async def _replay_batch_async(
    batch: Sequence[Serialized],
    workflows: Sequence[type],
    settings: Settings,
    on_done: Callable[[ReplayOutcome], None] | None = None,
    sandboxed: bool = True,
) -> list[ReplayOutcome]:
    """Replay the batch, one replayer per namespace its runs ran in: a payload decodes with the
    data keys of its namespace's chains (`passerelle.platform.envelope`), which the replayer's
    namespace names. Return one outcome per run, in the batch's order."""
    by_namespace: dict[str | None, list[int]] = {}
    for index, item in enumerate(batch):
        by_namespace.setdefault(item[3], []).append(index)
    done: dict[int, ReplayOutcome] = {}
    for namespace, indexes in by_namespace.items():
        items = [batch[i] for i in indexes]
        outcomes = await _replay_namespace(items, namespace, workflows, settings, on_done, sandboxed)
        done.update(zip(indexes, outcomes, strict=True))
    return [done[i] for i in range(len(batch))]


async def _replay_namespace(
    batch: Sequence[Serialized],
    namespace: str | None,
    workflows: Sequence[type],
    settings: Settings,
    on_done: Callable[[ReplayOutcome], None] | None,
    sandboxed: bool,
) -> list[ReplayOutcome]:
    from passerelle.platform.worker import workflow_runner

    runner = workflow_runner() if sandboxed else UnsandboxedWorkflowRunner()
    # Unsandboxed, activations also run inline on the event loop (the SDK's debug mode): no hand-off
    # to a thread per activation, so faster still (docs/benchmarks.md); the price is the 2-second
    # deadlock detector, which guards workers against a workflow that never yields, and the
    # sandboxed path keeps.
    replayer = Replayer(
        workflows=workflows,
        workflow_runner=runner,
        data_converter=converter_for(settings),
        debug_mode=not sandboxed,
        namespace=namespace or REPLAY_NAMESPACE,
    )
    parsed = [(wid, rid, History.FromString(blob)) for wid, rid, blob, _ in batch]

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for wid, _, history in parsed:
            yield WorkflowHistory(wid, history.events)

    outcomes = []
    async with replayer.workflow_replay_iterator(histories()) as results:
        index = 0
        async for result in results:
            wid, rid, history = parsed[index]
            index += 1
            failure = result.replay_failure
            if failure is None:
                outcomes.append(ReplayOutcome(wid, rid, len(history.events)))
                if on_done:
                    on_done(outcomes[-1])
                continue
            # The event Core could not match, when the SDK version lets us read it
            # (`passerelle.platform.sdk_shortcuts`); the verdict below does not depend on it.
            error, event_id = divergence(failure)
            outcomes.append(
                ReplayOutcome(
                    wid,
                    rid,
                    len(history.events),
                    error=error,
                    nondeterministic=isinstance(failure, NondeterminismError),
                    event_id=event_id,
                    event_type=_event_type(history, event_id),
                )
            )
            if on_done:
                on_done(outcomes[-1])
    return outcomes


def replay_batch(
    batch: Sequence[Serialized],
    workflows: Sequence[type],
    settings: Settings,
    sandboxed: bool = True,
) -> list[ReplayOutcome]:
    """Replay serialized histories (`Serialized`) in this process."""
    return asyncio.run(_replay_batch_async(batch, workflows, settings, sandboxed=sandboxed))


def _serialize(run: Run) -> Serialized:
    return run.workflow_id, run.run_id, History(events=run.events).SerializeToString(), run.namespace


async def replay_runs(
    runs: Sequence[Run],
    settings: Settings,
    *,
    jobs: int | None = None,
    workflows: Sequence[type] | None = None,
    on_done: Callable[[ReplayOutcome], None] | None = None,
    sandboxed: bool = True,
) -> list[ReplayOutcome]:
    """Replay every run; return one outcome per run, in the order given.

    `jobs` processes share the work (default: every core); small sets replay in this process.
    Each process gets the settings (their keys travel through the pool's pipe, never a file).
    """
    classes = list(workflows or default_workflows())
    jobs = max(1, jobs or os.cpu_count() or 1)
    items = [_serialize(run) for run in runs]
    if jobs == 1 or len(items) < IN_PROCESS_BELOW:
        return await _replay_batch_async(items, classes, settings, on_done, sandboxed)
    # Batches small enough to balance the load and show progress, large enough to amortise the
    # replayer's start-up (about a few histories' worth).
    size = max(1, min(25, len(items) // (jobs * 4)))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            loop.run_in_executor(pool, replay_batch, batch, classes, settings, sandboxed) for batch in batches
        ]
        for future in asyncio.as_completed(futures):
            for outcome in await future:
                if on_done:
                    on_done(outcome)
        results = [outcome for future in futures for outcome in future.result()]
    return results
