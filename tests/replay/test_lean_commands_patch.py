"""The lean-commands patch: histories recorded before it still replay; without the guard they break.

`tests/replay/histories/before-lean-commands/` holds the golden exports recorded before the
change (every change cancelled and restarted the stall timer and upserted all eight search
attributes). Today's code replays them on the old path because `workflow.patched` finds no marker
there; the same change made without the guard meets commands those histories never saw.
"""

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from passerelle.audit.histories import read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.replay.patching.lean_unguarded import UnguardedLeanWorkflow
from tests.replay.test_golden import GOLDEN
from workflows.collaboration import LEAN_COMMANDS_PATCH

BEFORE = Path(__file__).parent / "histories" / "before-lean-commands"


def folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "manifest.json").exists())


@pytest.mark.parametrize("folder", folders(BEFORE), ids=lambda p: p.name)
async def test_history_from_before_the_patch_replays_only_with_the_guard(
    folder: Path, settings: Settings
) -> None:
    """Old histories replay on today's code, and are non-deterministic for the unguarded change."""
    runs = read_export(folder)
    today = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in today), [o.error for o in today if not o.passed]
    unguarded = await replay_runs(runs, settings, jobs=1, workflows=[UnguardedLeanWorkflow])
    assert any(o.nondeterministic for o in unguarded), [o.error for o in unguarded]


def test_new_histories_are_leaner() -> None:
    """Since the patch, a full lifecycle has no cancelled timers and fewer attribute upserts."""

    def counts(folder: Path) -> tuple[int, int, bool]:
        events = [e for run in read_export(folder) for e in run.events]
        markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
        patched = any(LEAN_COMMANDS_PATCH.encode() in e.SerializeToString() for e in markers)
        kinds = [e.event_type for e in events]
        return (
            kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED),
            kinds.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
            patched,
        )

    before, after = counts(BEFORE / "full-lifecycle"), counts(GOLDEN / "full-lifecycle")
    assert (before[2], after[2]) == (False, True)
    assert after[0] < before[0] and after[1] < before[1], (before, after)
