"""`passerelle worker` as a real child process, configured only by environment variables.

The same command the Dockerfile runs, pointed at the test's Temporal dev server, database and
task queue. Output goes to a log file that a failing test prints.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fresh_namespace(client: Client) -> str:
    """Register a namespace of the test's own and wait until the server serves it."""
    name = f"ns-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period=Duration(seconds=int(timedelta(days=1).total_seconds())),
        )
    )
    for _ in range(100):
        try:
            await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=name))
            return name
        except RPCError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"namespace {name} never became available")


def worker_env(client: Client, database_url: str, task_queue: str, **extra: str) -> dict[str, str]:
    """Return the environment of a worker on the test's server, database and task queue."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PASSERELLE_"))}
    return {
        **keep,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "PASSERELLE_DATABASE_URL": database_url,
        "PASSERELLE_TASK_QUEUE": task_queue,
        "PASSERELLE_ENCRYPTION_KEYS": os.environ["PASSERELLE_ENCRYPTION_KEYS"],  # the suite's key
        "PASSERELLE_ACTORS": os.environ["PASSERELLE_ACTORS"],  # the suite's policy (tests/conftest.py)
        **extra,
    }


class WorkerProcess:
    """One `passerelle worker` child process."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [PASSERELLE, "worker"], env=dict(env), stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def identity(self) -> str:
        """Return the worker identity the SDK reports (pid@host) in histories and pollers."""
        return f"{self.process.pid}@{socket.gethostname()}"

    def output(self) -> str:
        """Return what the worker printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no graceful anything, as a crashed host or OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (graceful shutdown) and wait; SIGKILL if it overstays. Return the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


async def wait_for_pollers(
    client: Client, task_queue: str, workers: list[WorkerProcess], within: float = 60
) -> None:
    """Wait until every worker polls the task queue for workflow and activity tasks."""
    wanted = {w.identity for w in workers}
    deadline = asyncio.get_running_loop().time() + within
    while True:
        seen: list[set[str]] = []
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
                )
            )
            seen.append({p.identity for p in described.pollers})
        if all(wanted <= s for s in seen):
            return
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"worker exited {worker.process.returncode}:\n{worker.output()}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"workers {wanted} not polling {task_queue}; seen {seen}")
        await asyncio.sleep(0.2)
