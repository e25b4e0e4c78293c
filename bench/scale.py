"""Scale of open collaborations: worker memory and list latency with N idle collaborations.

Two worker processes on one dev server: `passerelle worker` (the real command, with its
environment) holding N idle collaborations, and `bench.bare_worker` holding N idle bare
workflows, started chunk by chunk, alternately. psutil samples each process's RSS; memory per
cached workflow is (RSS after − RSS warm) / min(N, sticky cache size) on each side. The last 5 %
of the collaborations stall at once (threshold ~17 s) and are then snoozed, so `Stalled = true`
has answers; then the
visibility query and the operator's list (`passerelle list --stalled` when the branch has it,
otherwise `client.list_workflows` plus the same rich table, said so in the results) are timed.
"""

import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from bench import baseline
from bench.common import DECLARED_ACTORS, Report, client_address, database, dev_server, postgres, request_data
from passerelle.devstack.servers import find_binary
from passerelle.platform.settings import load_settings
from schemas import SnoozeRequest
from workflows.collaboration import CollaborationWorkflow

STALL_DAYS = 0.0002  # ≈ 17 s: the stalled share stalls during the run
STALLED_SHARE = 0.05


class RssSampler:
    """Sample a process's resident memory every 200 ms; keep the peak."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self.last = psutil.Process(pid), 0, 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self.last = self.process.memory_info().rss
            except psutil.NoSuchProcess:
                return  # the benchmark is ending (or `check_workers` says why the worker died)
            self.peak = max(self.peak, self.last)
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        """Stop sampling."""
        self._task.cancel()


WORKERS: list[tuple[subprocess.Popen[bytes], Path]] = []  # (process, its stderr file)


def check_workers() -> None:
    """Stop the benchmark with the worker's own words if one of the worker processes died."""
    for proc, errors in WORKERS:
        if proc.poll() is not None:
            tail = errors.read_text(errors="replace")[-2000:]
            raise SystemExit(f"worker {proc.args} exited with {proc.returncode}:\n{tail}")


async def wait_count(client: Client, query: str, n: int, timeout: float = 300) -> None:
    """Wait until the visibility count of `query` reaches `n`."""
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count < n:
        check_workers()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {n} workflows matching {query}")
        await asyncio.sleep(0.5)


async def start_many(make: Callable[[int], Awaitable[Any]], first: int, n: int) -> None:
    """Start workflows `first`..`first+n-1`, 50 at a time."""
    gate = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with gate:
            await make(i)

    await asyncio.gather(*(one(i) for i in range(first, first + n)))


async def timed(make: Callable[[], Awaitable[Any]], repeat: int = 5) -> float:
    """Return the median wall seconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await make()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


async def list_stalled_table(client: Client) -> str:
    """The fallback for `passerelle list --stalled`: list the stalled ones, render the table."""
    table = Table("workflow id", "corporate", "startup", "stage", "stalled")
    async for w in client.list_workflows("Stalled = true AND ExecutionStatus = 'Running'"):
        sa = w.typed_search_attributes
        table.add_row(w.id, *(str(v.value) for v in list(sa)[:3]), "yes")
    out = io.StringIO()
    Console(file=out, width=160).print(table)
    return out.getvalue()


def has_list_command() -> bool:
    """Return True when the installed `passerelle` has a `list` command."""
    done = subprocess.run([find_binary("passerelle"), "list", "--help"], capture_output=True)
    return done.returncode == 0


async def run(n: int = 2000) -> Report:
    """Hold `n` idle collaborations and `n` idle bare workflows; weigh and list them."""
    cache = load_settings().max_cached_workflows
    report = Report("scale", {"n": n, "stalled_share": STALLED_SHARE, "max_cached_workflows": cache})
    tag = uuid.uuid4().hex[:8]
    queue, bare_queue = f"collaborations-{tag}", f"bare-{tag}"
    stalled_n = max(1, int(n * STALLED_SHARE))
    with postgres() as url:
        async with database(url, pool_max=2) as _, dev_server() as env:
            client, address = env.client, client_address(env.client)
            environ = {
                **os.environ,
                "TEMPORAL_ADDRESS": address,
                "TEMPORAL_NAMESPACE": "default",
                "PASSERELLE_DATABASE_URL": url,
                "PASSERELLE_TASK_QUEUE": queue,
                # The bench's client and dev server speak clear payloads, as the bare side does.
                "PASSERELLE_ENCRYPTION": "off",
                **DECLARED_ACTORS,
            }
            logs = Path(tempfile.mkdtemp(prefix="passerelle-bench-scale-"))
            commands = [
                [find_binary("passerelle"), "worker"],
                [sys.executable, "-m", "bench.bare_worker", address, bare_queue],
            ]
            WORKERS.clear()
            for i, command in enumerate(commands):
                errors = logs / f"worker-{i}.stderr"
                with errors.open("wb") as sink:
                    proc = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=sink)
                WORKERS.append((proc, errors))
            procs = [proc for proc, _ in WORKERS]
            try:
                ours, theirs = RssSampler(procs[0].pid), RssSampler(procs[1].pid)

                async def collab(i: int) -> None:
                    stall = {"stall_after_days": {"introduction": STALL_DAYS}} if i >= n - stalled_n else {}
                    await client.start_workflow(
                        CollaborationWorkflow.run,
                        request_data(**stall),
                        id=f"collab-{tag}-{i}",
                        task_queue=queue,
                    )

                async def bare(i: int) -> None:
                    await client.start_workflow(
                        baseline.BareIdle.run, id=f"bare-{tag}-{i}", task_queue=bare_queue
                    )

                await start_many(collab, 0, 1)
                await start_many(bare, 0, 1)
                await wait_count(client, f"TaskQueue = '{queue}' AND Stage = 'introduction'", 1, 120)
                await wait_count(client, f"TaskQueue = '{bare_queue}' AND Stage = 'bare'", 1, 120)
                await asyncio.sleep(2)
                warm = (ours.last, theirs.last)
                began = time.perf_counter()
                chunk = max(1, min(500, n // 4))
                for first in range(1, n, chunk):
                    await start_many(collab, first, min(chunk, n - first))
                    await start_many(bare, first, min(chunk, n - first))
                # Each first workflow task takes a few ms of worker CPU: allow ~0.1 s per workflow.
                settle = max(300.0, 0.1 * n)
                await wait_count(client, f"TaskQueue = '{queue}' AND Stage = 'introduction'", n, settle)
                await wait_count(client, f"TaskQueue = '{bare_queue}' AND Stage = 'bare'", n, settle)
                report.values["start_all_s"] = round(time.perf_counter() - began, 1)
                await wait_count(client, f"TaskQueue = '{queue}' AND Stalled = true", stalled_n, 180)
                snooze = SnoozeRequest(by="bench", days=365)
                await start_many(
                    lambda i: client.get_workflow_handle(f"collab-{tag}-{i}").execute_update(
                        CollaborationWorkflow.snooze_reminders, snooze
                    ),
                    n - stalled_n,
                    stalled_n,
                )
                await asyncio.sleep(2)
                held = (ours.last, theirs.last)
                count_s = await timed(lambda: client.count_workflows("Stalled = true"))
                query_s = await timed(lambda: _drain(client.list_workflows("Stalled = true")))
                table_s = await timed(lambda: list_stalled_table(client))
                rendered = await list_stalled_table(client)
                cli_s = None
                if has_list_command():
                    cli_s = await timed(
                        lambda: asyncio.to_thread(
                            subprocess.run,
                            [find_binary("passerelle"), "list", "--stalled"],
                            env=environ,
                            capture_output=True,
                            check=True,
                        ),
                        repeat=3,
                    )
                peaks = (ours.peak, theirs.peak)
                ours.stop()
                theirs.stop()
            finally:
                for p in procs:
                    p.terminate()
                    p.wait(30)
    mib = 2**20
    cached = min(n, load_settings().max_cached_workflows)  # both workers read the same setting
    per = [(held[i] - warm[i]) / cached for i in (0, 1)]
    report.values.update(
        {
            "passerelle_worker_peak_rss_mb": round(peaks[0] / mib, 1),
            "bare_worker_peak_rss_mb": round(peaks[1] / mib, 1),
            "passerelle_kb_per_open_collaboration": round(per[0] / 1024, 1),
            "bare_kb_per_open_workflow": round(per[1] / 1024, 1),
            "ratio_memory_per_workflow": round(per[0] / per[1], 2) if per[1] > 0 else None,
            "stalled_listed": rendered.count(f"collab-{tag}-"),
            "visibility_count_stalled_s": round(count_s, 3),
            "visibility_list_stalled_s": round(query_s, 3),
            "list_stalled": "passerelle list --stalled"
            if cli_s is not None
            else "fallback: client.list_workflows + rich table (no `passerelle list` in this branch)",
            "list_stalled_s": round(cli_s if cli_s is not None else table_s, 3),
            "ratio_list_over_visibility_query": round((cli_s or table_s) / query_s, 2),
        }
    )
    report.target(f"worker peak RSS MB at n={n}", peaks[0] / mib, 300, at_least=False)
    projected = warm[0] + per[0] * min(10_000, load_settings().max_cached_workflows)
    report.target("projected RSS MB at 10,000 (cache-bounded)", projected / mib, 300, at_least=False)
    report.target("list --stalled, s", cli_s if cli_s is not None else table_s, 2.0, at_least=False)
    return report


async def _drain(iterator: Any) -> int:
    return len([w async for w in iterator])
