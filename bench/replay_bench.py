"""Audit replay: the project's replay path against the SDK's default `Replayer`, same files.

Full-lifecycle histories are recorded on a dev server (`unique` of them, by the lifecycle
benchmark's code), saved as JSON and copied up to `n` files, parsed once beforehand (the audit
fetches protobuf histories from the server; JSON parsing is not replay). Both sides replay every
history in the same run: the SDK's default `Replayer` (default sandbox, one process) and
Passerelle's audit path (`passerelle.audit.replay`), one process per core, sandboxed as the
worker runs and unsandboxed (`audit replay --unsandboxed`). Every replay must pass on both sides.
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

from bench.common import Report, bench_settings, database, dev_server, postgres
from bench.lifecycle import passerelle_lifecycle, workers
from passerelle.audit import replay as audit
from passerelle.audit.histories import Run
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from passerelle.platform.worker import WORKFLOWS


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


async def default_replayer(
    loaded: list[WorkflowHistory], settings: Settings | None = None
) -> list[str | None]:
    """Replay with the SDK's default Replayer (default sandbox, this process); clear by default."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter_for(settings or bench_settings()))

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for history in loaded:
            yield history

    errors: list[str | None] = []
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            errors.append(None if result.replay_failure is None else str(result.replay_failure))
    return errors


def load_history(path: Path) -> WorkflowHistory:
    """Read a history exported as JSON (Web UI, `temporal workflow show -o json`, fetch_history)."""
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def passerelle_replay(
    loaded: list[WorkflowHistory], sandboxed: bool, settings: Settings | None = None
) -> tuple[str, list[str | None]]:
    """Replay with Passerelle's audit path on every core; return its name and the failures."""
    runs = [Run(h.workflow_id, h.workflow_id, h) for h in loaded]
    outcomes = await audit.replay_runs(runs, settings or bench_settings(), sandboxed=sandboxed)
    mode = "sandboxed" if sandboxed else "unsandboxed"
    return f"passerelle.audit.replay ({mode}, all cores)", [o.error for o in outcomes]


async def run(n: int = 1000, unique: int = 50) -> Report:
    """Replay `n` history files with each side; report histories per second and the ratio."""
    report = Report("replay", {"n": n, "unique_histories": unique})
    folder = Path(tempfile.mkdtemp(prefix="passerelle-bench-histories-"))
    try:
        paths = await record_histories(folder, min(unique, n), n)
        loaded = [load_history(p) for p in paths]  # parsed once, outside the timings: the audit
        events = len(loaded[0].events)  # fetches protobuf histories from the server, not JSON
        began = time.perf_counter()
        errors = await default_replayer(loaded)
        default_s = time.perf_counter() - began
        report.values["events_per_history"] = events
        report.values["default_histories_per_s"] = round(n / default_s, 2)
        for sandboxed in (True, False):
            began = time.perf_counter()
            path_name, ours = await passerelle_replay(loaded, sandboxed)
            seconds = time.perf_counter() - began
            if not ours:
                continue
            errors += ours
            key = "sandboxed" if sandboxed else "unsandboxed"
            report.values[f"audit_{key}_path"] = path_name
            report.values[f"audit_{key}_histories_per_s"] = round(n / seconds, 2)
            report.values[f"ratio_audit_{key}_over_default"] = round(default_s / seconds, 3)
            if not sandboxed:  # `audit replay`'s default for the worker's workflows; --sandboxed is shown
                report.target(
                    "audit replay, default flags (audit/Replayer)", default_s / seconds, 5.0, at_least=True
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failures = [e for e in errors if e is not None]
    report.values["replay_failures"] = len(failures)
    if failures:
        raise SystemExit(f"replay failed for {len(failures)} histories: {failures[0]}")
    return report
