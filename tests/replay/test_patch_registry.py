"""The patch registry (`workflows/patches.py`) is the whole truth about patches, and each step holds.

- Every `patched`/`deprecate_patch` call in the workflows goes through a registry entry, and each
  entry's proof is committed.
- Deprecated patches, both eras: histories recorded while the patch was at step 1
  (`histories/before-retirement/`, markers not deprecated) and at step 2 (`golden/`, markers
  deprecated) replay on today's code.
- What the retirement condition guards against: a history from before a deprecated patch (no
  marker at all) no longer replays, which is why a step waits until no open run lacks the marker.
"""

import ast
import json
import re
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from passerelle.audit.histories import Run, read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from tests.replay.test_golden import golden_folders
from workflows import patches

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "histories"
STEP_ONE = HISTORIES / "before-retirement"
DEPRECATED = [p for p in patches.REGISTRY if p.step == "deprecated"]


def markers(runs: list[Run]) -> dict[str, bool]:
    """Return each patch id marked in the runs, with whether its marker says deprecated."""
    found: dict[str, bool] = {}
    for run in runs:
        for event in run.events:
            if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                for payload in event.marker_recorded_event_attributes.details["patch-data"].payloads:
                    data = json.loads(payload.data)
                    found[data["id"]] = data["deprecated"]
    return found


def test_every_patch_call_goes_through_the_registry() -> None:
    """No workflow calls `patched` or `deprecate_patch` with an id of its own; each entry is used."""
    direct = []
    for path in sorted((ROOT / "workflows").glob("*.py")):
        if path.name == "patches.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("patched", "deprecate_patch"):
                direct.append(f"{path.name}:{node.lineno}")
    assert direct == []
    code = "".join(p.read_text() for p in (ROOT / "workflows").glob("*.py") if p.name != "patches.py")
    names = {name for name, value in vars(patches).items() if isinstance(value, patches.Patch)}
    used = set(re.findall(r"patches\.([A-Z0-9_]+)\.(?:applies|deprecate)\(\)", code))
    assert used == names
    assert len({p.id for p in patches.REGISTRY}) == len(patches.REGISTRY) == len(names)


@pytest.mark.parametrize("patch", patches.REGISTRY, ids=lambda p: p.id)
def test_each_patch_names_committed_proof(patch: patches.Patch) -> None:
    paths = re.findall(r"tests/[\w/.-]+", patch.proof)
    assert paths, patch.proof
    for path in paths:
        assert (ROOT / path).exists(), path
    assert patch.changed and patch.next_step


@pytest.mark.parametrize("folder", sorted(STEP_ONE.iterdir()), ids=lambda p: p.name)
async def test_step_one_histories_replay_on_the_deprecated_code(folder: Path, settings: Settings) -> None:
    """Recorded with `patched` (markers not deprecated): today's `deprecate_patch` code replays them."""
    runs = read_export(folder)
    assert markers(runs) and not any(markers(runs)[p.id] for p in DEPRECATED if p.id in markers(runs))
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]


def test_step_two_goldens_carry_every_deprecated_marker() -> None:
    """Each deprecated patch is marked deprecated in the goldens recorded since (`test_golden.py`
    replays them), and each step-one scenario has its step-two golden."""
    seen: dict[str, bool] = {}
    for folder in golden_folders():
        seen |= markers(read_export(folder))
    assert {p.id: True for p in DEPRECATED} == {p.id: seen.get(p.id) for p in DEPRECATED}
    assert seen[patches.BOUNDED_LIFE.id] is False  # still at step 1
    # Scenarios added since (partner answers) have no step-one recording: there was none to keep.
    assert {p.name for p in STEP_ONE.iterdir()} <= {p.name for p in golden_folders()}


@pytest.mark.parametrize(
    "folder", sorted((HISTORIES / "before-lean-commands").iterdir()), ids=lambda p: p.name
)
async def test_a_history_from_before_lean_commands_no_longer_replays(
    folder: Path, settings: Settings
) -> None:
    """No lean-commands marker: the old branch is gone, so the retirement condition matters."""
    runs = read_export(folder)
    assert patches.LEAN_COMMANDS.id not in markers(runs)
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert any(o.nondeterministic for o in outcomes), [o.error for o in outcomes]


async def test_a_history_from_before_milestone_notifications_no_longer_replays(settings: Settings) -> None:
    """Recorded before milestone notifications: today's code schedules one the history never saw."""
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=converter_for(settings), workflow_runner=workflow_runner()
    )
    path = HISTORIES / "collaboration_before_milestone_notifications.json"
    history = WorkflowHistory.from_json("collab-natixis-nabla", path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "Nondeterminism" in str(result.replay_failure), result.replay_failure
