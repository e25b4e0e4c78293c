"""Export and replay histories from a real dev server, as `passerelle audit` does."""

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.audit_cli import alter_first_task_id, passerelle, temporal_show
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
    theirs = WorkflowHistory.from_json(workflow_id, temporal_show(client, workflow_id))
    ours = WorkflowHistory.from_json(workflow_id, (out / run["file"]).read_text())
    assert list(ours.events) == list(theirs.events) and len(ours.events) == run["events"]

    for source in (str(out), workflow_id, "--query", "--sandboxed"):
        args = {
            "--query": ["--query", f'WorkflowId = "{workflow_id}"'],
            "--sandboxed": [str(out), "--sandboxed"],
        }
        replayed = passerelle(client, "audit", "replay", *args.get(source, [source]))
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "replayed 1, passed 1, non-deterministic 0" in replayed.stdout


async def test_altered_workflow_is_reported_non_deterministic(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    tmp_path: Path,
    settings: Settings,
) -> None:
    """A definition that dropped its notifications diverges at the first delivery scheduled."""
    async with run_worker(dev_env.client):
        await declined(dev_env, workflow_id, task_queue)
    runs = await fetch_chain(dev_env.client, workflow_id)
    first_notify = next(
        e.event_id
        for e in runs[0].events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "deliver"
    )

    (outcome,) = await replay_runs(runs, settings, workflows=[SilentCollaborationWorkflow])
    assert outcome.nondeterministic and not outcome.passed
    assert (outcome.event_id, outcome.event_type) == (first_notify, "ACTIVITY_TASK_SCHEDULED")
    assert (await replay_runs(runs, settings))[0].passed, "the real definition still replays the same history"

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
    alter_first_task_id(tmp_path)
    result = passerelle(dev_env.client, "audit", "replay", str(tmp_path))
    assert result.returncode == 1
    assert "does not match the manifest" in result.stderr and "altered" in result.stderr
