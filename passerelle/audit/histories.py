"""Fetch a collaboration's chain of runs, and write or read it as exported JSON files.

A collaboration is one workflow id whose runs are chained by continue-as-new; its id in Postgres
(`collaboration_id`) is the first run's id. Each run's history is written in the JSON format of
`temporal workflow show --output json` (protobuf JSON of `temporal.api.history.v1.History`), one file
per run, with a `manifest.json` holding the SHA-256 of each file, so an export can be handed over
and later checked byte for byte before it is replayed.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

MANIFEST = "manifest.json"
FORMAT = "temporal workflow show --output json (temporal.api.history.v1.History as protobuf JSON)"


class ExportError(Exception):
    """An export that cannot be read, or whose files do not match their manifest."""


@dataclass(frozen=True)
class Run:
    """One run of a collaboration's chain, with its full history, and the namespace it ran in
    when known (a live history's, an export's manifest's): its payloads are sealed with that
    namespace's data keys, which the replayer must name (`passerelle.audit.replay`)."""

    workflow_id: str
    run_id: str
    history: WorkflowHistory
    namespace: str | None = None

    @property
    def events(self) -> Sequence[HistoryEvent]:
        """Return the run's history events."""
        return self.history.events


def first_run_id(history: WorkflowHistory) -> str:
    """Return the id of the first run of the chain `history` belongs to (the collaboration id)."""
    started = history.events[0].workflow_execution_started_event_attributes
    return started.first_execution_run_id or history.run_id


def next_run_id(history: WorkflowHistory) -> str | None:
    """Return the id of the run this one continued as, or None when the chain ends here."""
    last = history.events[-1] if history.events else None
    if last is not None and last.HasField("workflow_execution_continued_as_new_event_attributes"):
        return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
    return None


async def fetch_chain(
    client: Client, workflow_id: str, run_id: str | None = None, *, all_runs: bool = True
) -> list[Run]:
    """Return every run of the chain (oldest first) holding `run_id`, or the latest run's chain.

    Walks forward from the first run through each `WorkflowExecutionContinuedAsNew` event. With
    `all_runs=False`, return only the run named (or the latest one).
    """
    named = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    if not all_runs:
        latest = run_id or (await client.get_workflow_handle(workflow_id).describe()).run_id
        return [Run(workflow_id, latest, named, client.namespace)]
    runs: list[Run] = []
    rid: str | None = first_run_id(named)
    while rid is not None:
        history = await client.get_workflow_handle(workflow_id, run_id=rid).fetch_history()
        runs.append(Run(workflow_id, rid, history, client.namespace))
        rid = next_run_id(history)
    return runs


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_export(runs: Sequence[Run], folder: Path, namespace: str) -> Path:
    """Write one JSON file per run and `manifest.json`; return the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, run in enumerate(runs, start=1):
        path = folder / f"{index:03d}-{run.run_id}.json"
        path.write_text(run.history.to_json() + "\n")
        last = run.events[-1]
        entries.append(
            {
                "index": index,
                "run_id": run.run_id,
                "file": path.name,
                "sha256": sha256(path),
                "events": len(run.events),
                "last_event": last.event_time.ToDatetime(UTC).isoformat(),
            }
        )
    manifest = {
        "format": FORMAT,
        "namespace": namespace,
        "workflow_id": runs[0].workflow_id,
        "collaboration_id": first_run_id(runs[0].history),
        "exported_at": datetime.now(UTC).isoformat(),
        "runs": entries,
    }
    target = folder / MANIFEST
    target.write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def _load_file(path: Path, workflow_id: str) -> WorkflowHistory:
    try:
        return WorkflowHistory.from_json(workflow_id, path.read_text())
    except (OSError, ValueError) as err:
        raise ExportError(f"{path}: not a Temporal history JSON file ({err})") from None


def read_export(path: Path) -> list[Run]:
    """Return the runs of an export folder (or its manifest), checking each file's SHA-256.

    A plain history file (`temporal workflow show --output json > run.json`) is read as one run
    named after the file; it has no manifest to check.
    """
    manifest_path = path / MANIFEST if path.is_dir() else path
    if manifest_path.name != MANIFEST:
        history = _load_file(path, path.stem)
        return [Run(path.stem, history.run_id, history)]
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as err:
        raise ExportError(f"{manifest_path}: cannot read the manifest ({err})") from None
    folder, runs = manifest_path.parent, []
    for item in manifest["runs"]:
        file = folder / item["file"]
        if not file.exists():
            raise ExportError(f"{file}: listed in the manifest but missing")
        actual = sha256(file)
        if actual != item["sha256"]:
            raise ExportError(
                f"{file}: SHA-256 {actual} does not match the manifest's {item['sha256']}: altered"
            )
        history = _load_file(file, manifest["workflow_id"])
        runs.append(Run(manifest["workflow_id"], item["run_id"], history, manifest.get("namespace")))
    return runs


def read_exports(paths: Sequence[Path]) -> list[Run]:
    """Return the runs of several export folders, manifests or history files, in order."""
    runs: list[Run] = []
    for path in paths:
        if path.is_dir() and not (path / MANIFEST).exists():
            for sub in sorted(p for p in path.iterdir() if p.is_dir() or p.suffix == ".json"):
                runs += read_exports([sub])
        else:
            runs += read_export(path)
    return runs
