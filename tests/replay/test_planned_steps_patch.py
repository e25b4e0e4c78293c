"""The planned-steps patch: its marker is in the histories that have the timers.

A run asks `planned-steps` only once it holds a planned step or a decision date, so the
histories recorded before (every other golden) replay unchanged (test_golden.py). The
planned-steps golden (a meeting moved and held, a demo postponed by the start-up through the
portal and then missed, a cancelled document, a decision date passed) carries it once, replays,
and does not replay on code without the timers.
"""

from passerelle.audit.histories import read_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.settings import Settings
from tests.replay.patching.steps_unguarded import NoStepTimersWorkflow
from tests.replay.test_golden import GOLDEN
from tests.replay.test_patch_registry import markers
from workflows.patches import PLANNED_STEPS

PLANNED = GOLDEN / "planned-steps"


async def test_the_planned_steps_golden_replays_only_with_its_timers(settings: Settings) -> None:
    runs = read_export(PLANNED)
    assert markers(runs).get(PLANNED_STEPS.id) is False  # step 1: patched, not deprecated
    kinds = b"".join(e.SerializeToString() for r in runs for e in r.events)
    for kind in (b"step_missed", b"decision_overdue", b"step_held", b"step_rescheduled", b"step_cancelled"):
        assert kind in kinds, kind
    today = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in today), [o.error for o in today if not o.passed]
    without = await replay_runs(runs, settings, jobs=1, workflows=[NoStepTimersWorkflow])
    assert any(o.nondeterministic for o in without), [o.error for o in without]
    assert not any("marker" in (o.error or "") for o in without), "it is the timers that differ"
