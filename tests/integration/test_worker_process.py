"""A `passerelle worker` process as a container runs it: metrics, health check, graceful stop, setup."""

import asyncio
import subprocess
import urllib.request
import uuid
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas import Closure, Outcome
from tests.integration.processes import PASSERELLE, WorkerProcess, free_port, wait_for_pollers, worker_env
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

SDK_METRICS = (
    "temporal_workflow_completed",
    "temporal_activity_execution_latency",
    "temporal_worker_task_slots_available",
)


def healthcheck(env: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Run `passerelle worker --healthcheck`; return its exit code and each check's verdict."""
    done = subprocess.run(
        [PASSERELLE, "worker", "--healthcheck"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    verdicts = dict(line.split(" (", 1)[0].split(": ") for line in done.stdout.splitlines())
    return done.returncode, verdicts


def scrape(port: int) -> str:
    """GET the worker's Prometheus endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def scrape_until_complete(port: int, within: float = 10) -> str:
    """Scrape until every SDK metric is there, or `within` seconds passed: the worker counts a
    completed workflow once the server acknowledged its last task, which may be just after the
    client saw the result."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        metrics = await asyncio.to_thread(scrape, port)
        if all(name in metrics for name in SDK_METRICS) or asyncio.get_running_loop().time() > deadline:
            return metrics
        await asyncio.sleep(0.2)


async def test_metrics_and_health_while_the_worker_runs(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    """The worker serves SDK metrics for its task queue; the health check passes, then fails once stopped."""
    port = free_port()
    env = worker_env(
        dev_env.client,
        postgres_url,
        task_queue,
        PASSERELLE_METRICS_PORT=str(port),
        PASSERELLE_METRICS_HOST="127.0.0.1",
    )
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        await wait_for_pollers(dev_env.client, task_queue, [worker])
        handle = await start(dev_env.client, f"collab-metrics-{uuid.uuid4()}", task_queue)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="metrics")
        )
        await handle.result()
        metrics = await scrape_until_complete(port)
        running = await asyncio.to_thread(healthcheck, env)
    finally:
        code = worker.stop()
    assert code == 0, worker.output()
    assert "worker stopped" in worker.output()
    for name in SDK_METRICS:
        assert name in metrics, f"{name} missing from the metrics"
    assert f'task_queue="{task_queue}"' in metrics
    assert running == (0, {"temporal": "ok", "database": "ok", "metrics": "ok"})
    stopped = await asyncio.to_thread(healthcheck, env)
    assert stopped == (1, {"temporal": "ok", "database": "ok", "metrics": "FAILED"})


async def test_healthcheck_fails_when_the_database_is_unreachable(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A database nobody listens on makes the health check fail, naming the database."""
    env = worker_env(dev_env.client, f"postgresql://nobody:x@127.0.0.1:{free_port()}/none", task_queue)
    code, verdicts = await asyncio.to_thread(healthcheck, env)
    assert (code, verdicts) == (1, {"temporal": "ok", "database": "FAILED"})
