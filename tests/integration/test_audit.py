"""Export and replay histories from a real dev server, as `passerelle audit` does."""

import json
import re
import subprocess
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.devstack import find_binary
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.replay.altered_workflow import SilentCollaborationWorkflow
from tests.replay.scenarios import declined, full_lifecycle

ALTERED = "tests.replay.altered_workflow:SilentCollaborationWorkflow"


async def test_export_then_replay_passes(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, tmp_path: Path
) -> None:
    """`audit export` writes the CLI's JSON and a manifest; replaying the export, the id or a query passes."""
    async with run_worker(dev_env.client):
        await full_lifecycle(dev_env, workflow_id, task_queue)
    client, out = dev_env.client, tmp_path / "export"

    exported = passerelle(client, "audit", "export", workflow_id, "--all-runs", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    (run,) = manifest["runs"]
    shown = subprocess.run(
        [find_binary("temporal"), "workflow", "show", "-w", workflow_id, "--output", "json",
         "--address", client.service_client.config.target_host],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ours = WorkflowHistory.from_json(workflow_id, (out / run["file"]).read_text())
    theirs = WorkflowHistory.from_json(workflow_id, shown.stdout)
    assert list(ours.events) == list(theirs.events) and len(ours.events) == run["events"]

    for source in (str(out), workflow_id, "--query"):
        args = ["--query", f'WorkflowId = "{workflow_id}"'] if source == "--query" else [source]
        replayed = passerelle(client, "audit", "replay", *args)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "replayed 1, passed 1, non-deterministic 0" in replayed.stdout


async def test_altered_workflow_is_reported_non_deterministic(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, tmp_path: Path
) -> None:
    """A definition that dropped its notifications diverges at the first notify activity scheduled."""
    async with run_worker(dev_env.client):
        await declined(dev_env, workflow_id, task_queue)
    runs = await fetch_chain(dev_env.client, workflow_id)
    first_notify = next(
        e.event_id
        for e in runs[0].events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "notify"
    )

    (outcome,) = await replay_runs(runs, workflows=[SilentCollaborationWorkflow])
    assert outcome.nondeterministic and not outcome.passed
    assert (outcome.event_id, outcome.event_type) == (first_notify, "ACTIVITY_TASK_SCHEDULED")
    assert (await replay_runs(runs))[0].passed, "the real definition still replays the same history"

    write_export(runs, tmp_path, "default")
    result = passerelle(dev_env.client, "audit", "replay", str(tmp_path), "--workflow", ALTERED)
    assert result.returncode == 1
    assert "replayed 1, passed 0, non-deterministic 1" in result.stdout
    assert f"{first_notify} ACTIVITY_TASK_SCHEDULED" in result.stdout


async def test_altered_export_file_is_refused(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, tmp_path: Path
) -> None:
    """One changed byte in an exported history fails its SHA-256 check before any replay."""
    async with run_worker(dev_env.client):
        await declined(dev_env, workflow_id, task_queue)
    write_export(await fetch_chain(dev_env.client, workflow_id), tmp_path, "default")
    assert read_export(tmp_path)
    file = next(tmp_path.glob("001-*.json"))
    text = file.read_text()
    altered = re.sub(r'"taskId": "(\d+)"', lambda m: f'"taskId": "{int(m.group(1)) + 1}"', text, count=1)
    assert altered != text
    file.write_text(altered)
    result = passerelle(dev_env.client, "audit", "replay", str(tmp_path))
    assert result.returncode == 1
    assert "does not match the manifest" in result.stderr and "altered" in result.stderr
