"""`passerelle dev`: the whole stack starts, serves the Web UI, stops cleanly and resumes its state."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from passerelle.client import connect
from schemas import Stage, StageChange
from tests.factories import request
from workflows.collaboration import CollaborationWorkflow

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevStack:
    """A `passerelle dev` subprocess on free ports with its own state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir, self.port, self.ui_port = state_dir, free_port(), free_port()
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PASSERELLE_DATABASE_URL"}
        self.process = subprocess.Popen(
            [
                PASSERELLE,
                "dev",
                "--state-dir",
                str(self.state_dir),
                "--port",
                str(self.port),
                "--ui-port",
                str(self.ui_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # the banner comes once everything is up
            self.output.append(line)
            if "Ctrl-C stops everything" in line:
                return
        pytest.fail("passerelle dev exited before its banner:\n" + "".join(self.output))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        rest, _ = self.process.communicate(timeout=60)
        self.output.append(rest)
        return self.process.returncode

    def children(self) -> list[psutil.Process]:
        """Return the processes that belong to this stack's state folder."""
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if str(self.state_dir) in cmdline:
                found.append(proc)
        return found


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    dev = DevStack(tmp_path / "state")
    yield dev
    if dev.process and dev.process.poll() is None:
        dev.process.kill()
    for orphan in dev.children():  # after a failure: its Temporal server and PostgreSQL
        orphan.kill()


def test_dev_runs_everything_stops_cleanly_and_resumes(stack: DevStack) -> None:
    """Banner, UI answers, SIGTERM leaves no process behind, a restart finds the collaboration."""
    workflow_id = "collab-dev-stack-test"
    stack.start()
    banner = "".join(stack.output)
    assert f"http://localhost:{stack.ui_port}" in banner and f"127.0.0.1:{stack.port}" in banner
    assert "Database:" in banner and "passerelle-daily-digest" in banner
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.ui_port}/", timeout=10) as page:
        assert page.status == 200

    async def begin() -> None:
        client = await connect({"target_host": f"127.0.0.1:{stack.port}"})
        handle = await client.start_workflow(
            CollaborationWorkflow.run, request(), id=workflow_id, task_queue="collaborations"
        )
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by="ops")
        )

    asyncio.run(begin())
    assert stack.children(), "temporal and postgres run under the state folder"
    assert stack.stop(signal.SIGTERM) == 0
    assert "Passerelle dev stack stopped." in stack.output[-1]
    assert stack.children() == [], "no orphan process after SIGTERM"

    stack.start()  # same state folder: same collaborations

    async def resumed() -> Stage:
        client = await connect({"target_host": f"127.0.0.1:{stack.port}"})
        status = await client.get_workflow_handle(workflow_id).query(CollaborationWorkflow.status)
        return status.stage

    assert asyncio.run(resumed()) is Stage.QUALIFICATION
    assert stack.stop(signal.SIGINT) == 0
    assert stack.children() == []
