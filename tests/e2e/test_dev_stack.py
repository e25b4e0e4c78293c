"""`passerelle dev`: the whole stack starts, serves the Web UI, stops cleanly and resumes its state.

The stack runs as a user starts it: no `PASSERELLE_ENCRYPTION_KEYS` in its environment, so it
encrypts with the key it keeps in its state folder, and the clients here find that key there.
"""

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
from temporalio.client import Client, WorkflowUpdateFailedError

from passerelle.cli.common import with_key_store
from passerelle.devstack.identity import DEV_ACCOUNT, DEV_ACCOUNTS
from passerelle.platform.client import client_for
from passerelle.platform.settings import load_settings
from schemas import Stage, StageChange
from tests.factories import request
from workflows.collaboration import CollaborationWorkflow

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


OPERATOR = DEV_ACCOUNTS[DEV_ACCOUNT]["email"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevStack:
    """A `passerelle dev` subprocess on free ports with its own state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir, self.port, self.ui_port = state_dir, free_port(), free_port()
        self.codec_port, self.portal_port, self.oidc_port = free_port(), free_port(), free_port()
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, *flags: str) -> None:
        # The suite's keys and database are not the stack's; nor is its actor policy: the stack
        # runs the default, verified actors, its operator signed in at its own provider.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PASSERELLE_DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_ACTORS")
        }
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
                "--codec-port",
                str(self.codec_port),
                "--portal-port",
                str(self.portal_port),
                "--oidc-port",
                str(self.oidc_port),
                *flags,
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

    async def client(self) -> Client:
        """Connect as a `passerelle` command run in the project folder: the state folder's key, if any."""
        settings = with_key_store(load_settings({"PASSERELLE_STATE_DIR": str(self.state_dir)}))
        return await client_for(settings, target_host=f"127.0.0.1:{self.port}")

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
    """Banner, UI answers, SIGTERM leaves no process behind, a restart finds the collaboration.

    Started in clear (`--no-encrypt`), restarted with the default (encrypted): the clear
    collaboration still reads and carries on, its new payloads encrypted.
    """
    workflow_id = "collab-dev-stack-test"
    stack.start("--no-encrypt")
    banner = "".join(stack.output)
    assert f"http://localhost:{stack.ui_port}" in banner and f"127.0.0.1:{stack.port}" in banner
    assert "Database:" in banner and "passerelle-daily-digest" in banner
    assert "Encryption:       off" in banner
    assert "Actors:           declared" in banner, "in clear, no codec server vouches for anyone"
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.ui_port}/", timeout=10) as page:
        assert page.status == 200

    async def begin() -> None:
        client = await stack.client()
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

    stack.output.clear()
    stack.start()  # same state folder: same collaborations, now encrypted (the default)
    banner = "".join(stack.output)
    key_file = stack.state_dir / "encryption.keys"
    assert "created a dev encryption key" in banner and "Encryption:       on (key dev" in banner, banner
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "Actors:           verified" in banner, banner
    assert f"You are:          {OPERATOR} (*:admin), signed in at http://127.0.0.1:" in banner, banner
    assert (
        "Programmes:       French Tech Corporate Community in namespace "
        "passerelle-french-tech-corporate-community; Coalition Next in namespace passerelle-coalition-next; "
        "any other in default"
    ) in banner, banner

    async def resumed() -> tuple[Stage, Stage, bytes]:
        client = await stack.client()
        handle = client.get_workflow_handle(workflow_id)
        before = (await handle.query(CollaborationWorkflow.status)).stage  # clear payloads
        # A command of the project folder goes through the stack's codec server with the
        # operator's login: typing another name is refused, the operator's own is verified.
        with pytest.raises(WorkflowUpdateFailedError) as forged:
            await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=Stage.PILOT, by="ops"))
        assert "by: not the address of your login" in str(forged.value.cause)
        after = await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.PILOT, by=OPERATOR)
        )
        history = await handle.fetch_history()
        update = [
            e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        sealed = update[-1].workflow_execution_update_accepted_event_attributes.accepted_request.input.args
        return before, after.stage, sealed.payloads[0].metadata["encoding"]

    assert asyncio.run(resumed()) == (Stage.QUALIFICATION, Stage.PILOT, b"binary/encrypted")
    assert (stack.state_dir / "identity.json").exists()
    assert stack.stop(signal.SIGINT) == 0
    assert stack.children() == []
    assert not (stack.state_dir / "identity.json").exists(), "a stopped stack sends commands nowhere"
