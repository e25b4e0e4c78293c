"""The bounded-life patch: a talkative collaboration recorded before it still replays.

`tests/replay/histories/before-bounded-life/talkative/` was recorded from the `talkative` scenario
with the code from before the change: its state carried every entry across continue-as-new, and
every update answer held the whole history. Today's code replays it (the kept entries feed no
command, so cutting them is safe), and the same change without the guard breaks it. The golden
recorded since shows what the bound buys, payload by payload.
"""

from pathlib import Path

from temporalio.api.enums.v1 import EventType

from passerelle.audit.histories import Run, read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.payloads import BUDGET, largest_payload
from tests.replay.patching.bounded_unguarded import UnguardedBoundedWorkflow
from tests.replay.test_golden import GOLDEN
from workflows.patches import BOUNDED_LIFE

BEFORE = Path(__file__).parent / "histories" / "before-bounded-life" / "talkative"


def patched(runs: list[Run]) -> bool:
    markers = [e for run in runs for e in run.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    return any(BOUNDED_LIFE.id.encode() in e.SerializeToString() for e in markers)


async def test_talkative_history_from_before_the_patch_replays_only_with_the_guard(
    settings: Settings,
) -> None:
    """The large-state history replays on today's code, and is non-deterministic unguarded."""
    runs = read_export(BEFORE)
    assert not patched(runs) and len(runs) > 1
    today = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in today), [o.error for o in today if not o.passed]
    unguarded = await replay_runs(runs, settings, jobs=1, workflows=[UnguardedBoundedWorkflow])
    assert any(o.nondeterministic for o in unguarded), [o.error for o in unguarded]


def test_the_same_talk_since_the_patch_writes_small_payloads() -> None:
    """Before: update answers and the carried state grew with every note. Since: all stay small."""
    before, after = read_export(BEFORE), read_export(GOLDEN / "talkative")
    assert patched(after)
    old_size, old_where = largest_payload(before)
    new_size, new_where = largest_payload(after)
    assert old_size > BUDGET, (old_size, old_where)  # an answer holding every note so far
    assert new_size < 20_000, (new_size, new_where)
