"""Audit replay: the project's replay path against the SDK's default `Replayer`, same files.

Full-lifecycle histories are recorded on a dev server (`unique` of them, by the lifecycle
benchmark's code), saved as JSON and copied up to `n` files. Both sides replay every file in the
same run: the SDK's default `Replayer` (default sandbox, one process) and Passerelle's audit path
(the worker's sandbox and pass-through modules, one process per core; `passerelle.audit.replay`
when the branch has it, `passerelle.replay` otherwise). Every replay must pass on both sides.
"""

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bench.common import Report, database, dev_server, postgres
from bench.lifecycle import passerelle_lifecycle, workers
from passerelle.client import DATA_CONVERTER
from worker import WORKFLOWS


async def record_histories(folder: Path, unique: int, n: int) -> list[Path]:
    """Run `unique` full lifecycles, save their histories, copy them to `n` files."""
    with postgres() as url:
        async with database(url) as pool, dev_server() as env:
            passerelle, _, queue, _ = workers(env.client, pool, uuid.uuid4().hex[:8])
            async with passerelle:
                ids = await asyncio.gather(*(passerelle_lifecycle(env.client, queue) for _ in range(unique)))
                originals = []
                for wid in ids:
                    history = await env.client.get_workflow_handle(wid).fetch_history()
                    path = folder / f"{wid}.json"
                    path.write_text(history.to_json())
                    originals.append(path)
    paths = []
    for i in range(n):
        source = originals[i % unique]
        target = folder / f"{i:05d}-{source.name}"
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


async def default_replayer(paths: list[Path]) -> list[str | None]:
    """Replay with the SDK's default Replayer (default sandbox, this process)."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in paths:
            yield WorkflowHistory.from_json(path.stem, path.read_text())

    errors: list[str | None] = []
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            errors.append(None if result.replay_failure is None else str(result.replay_failure))
    return errors


async def passerelle_replay(paths: list[Path]) -> tuple[str, list[str | None]]:
    """Replay with Passerelle's audit path; return which module did it and the failures."""
    try:
        from passerelle.audit import replay as audit  # type: ignore[import-not-found]
        from passerelle.audit.histories import Run  # type: ignore[import-not-found]
    except ImportError:
        from passerelle.replay import replay_files

        return "passerelle.replay.replay_files", await replay_files(paths)
    runs = []
    for path in paths:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        runs.append(Run(history.workflow_id, path.stem, list(history.events)))  # type: ignore[call-arg]
    outcomes = await audit.replay_runs(runs)
    return "passerelle.audit.replay.replay_runs", [o.error for o in outcomes]


async def run(n: int = 1000, unique: int = 50) -> Report:
    """Replay `n` history files with each side; report histories per second and the ratio."""
    report = Report("replay", {"n": n, "unique_histories": unique})
    folder = Path(tempfile.mkdtemp(prefix="passerelle-bench-histories-"))
    try:
        paths = await record_histories(folder, min(unique, n), n)
        events = len(WorkflowHistory.from_json("x", paths[0].read_text()).events)
        began = time.perf_counter()
        default_errors = await default_replayer(paths)
        default_s = time.perf_counter() - began
        began = time.perf_counter()
        path_name, ours_errors = await passerelle_replay(paths)
        ours_s = time.perf_counter() - began
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failures = sum(e is not None for e in default_errors + ours_errors)
    report.values.update(
        {
            "events_per_history": events,
            "passerelle_path": path_name,
            "default_histories_per_s": round(n / default_s, 2),
            "passerelle_histories_per_s": round(n / ours_s, 2),
            "replay_failures": failures,
            "ratio_passerelle_over_default": round(default_s / ours_s, 3),
        }
    )
    report.target("replay speed-up (audit/default)", default_s / ours_s, 5.0, at_least=True)
    if failures:
        raise SystemExit(f"replay failed for {failures} histories: {default_errors[:1] + ours_errors[:1]}")
    return report
