"""The lean-commands patch made histories leaner; `test_patch_registry.py` covers its replay.

`tests/replay/histories/before-lean-commands/` holds the golden exports recorded before the
change (every change cancelled and restarted the stall timer and upserted all eight search
attributes); `tests/replay/golden/` those recorded since.
"""

from pathlib import Path

from temporalio.api.enums.v1 import EventType

from passerelle.audit.histories import read_export
from tests.replay.test_golden import GOLDEN
from workflows.patches import LEAN_COMMANDS

BEFORE = Path(__file__).parent / "histories" / "before-lean-commands"


def folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "manifest.json").exists())


def test_new_histories_are_leaner() -> None:
    """Since the patch, a full lifecycle has no cancelled timers and fewer attribute upserts."""

    def counts(folder: Path) -> tuple[int, int, bool]:
        events = [e for run in read_export(folder) for e in run.events]
        markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
        patched = any(LEAN_COMMANDS.id.encode() in e.SerializeToString() for e in markers)
        kinds = [e.event_type for e in events]
        return (
            kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED),
            kinds.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
            patched,
        )

    before, after = counts(BEFORE / "full-lifecycle"), counts(GOLDEN / "full-lifecycle")
    assert (before[2], after[2]) == (False, True)
    assert after[0] < before[0] and after[1] < before[1], (before, after)
