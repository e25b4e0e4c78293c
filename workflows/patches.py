"""Every patch id of Passerelle's workflows: what changed, the proof, and when it may go.

A change that would make a running workflow issue other commands than its history recorded goes
behind `workflow.patched(id)` (docs/auditors.md, "Golden histories and changing a running
workflow"). A patch then lives in three steps:

1. `patched`: both branches stay; a history without the marker takes the old one.
2. `deprecated`: only the new code stays, with `workflow.deprecate_patch(id)`. Histories recorded
   at step 1 (with the marker) and at step 2 replay; a history from before the patch no longer
   does. Safe once no open run lacks the marker.
3. removed: the `deprecate_patch` call goes too, once no open run began before step 2.

The test of a step is the open histories themselves: run the candidate build's
`passerelle audit replay --query 'ExecutionStatus="Running"'` against the cluster before deploying
it; every run must pass. The committed histories named in `proof` keep each step honest in CI.
"""

from dataclasses import dataclass
from typing import Literal

from temporalio import workflow

Step = Literal["patched", "deprecated"]


@dataclass(frozen=True)
class Patch:
    """One patch id and its life."""

    id: str
    changed: str  # what the new branch does differently
    proof: str  # the committed histories and tests that show old runs still replay
    step: Step
    next_step: str  # the condition to take the next step, and why it holds where it does

    def applies(self) -> bool:
        """Return `workflow.patched(id)` (step 1): True for new runs and those with the marker."""
        assert self.step == "patched", f"{self.id} is {self.step}"
        return workflow.patched(self.id)

    def deprecate(self) -> None:
        """Record the deprecated marker (step 2): the new code is the only code."""
        assert self.step == "deprecated", f"{self.id} is {self.step}"
        workflow.deprecate_patch(self.id)


# Patches released in 0.1.0 itself: the first release already carried them, so every run a
# released Passerelle started records their markers, and a history without one can only come from
# a build older than 0.1.0. They were deprecated in 0.2.0.
RELEASED_IN_0_1 = (
    "0.1.0 already carried it, so no run any released version started lacks the marker; remove the "
    "call once no open run began before 0.2.0 (the audit replay above, run by the build without it)"
)

MEMO = Patch(
    id="memo-collaboration-id",
    changed="every run writes the memo `collaboration_id` (the key of its PostgreSQL rows)",
    proof="tests/replay/histories/before-retirement/ (step 1) and tests/replay/golden/ (step 2); "
    "tests/replay/test_patch_registry.py",
    step="deprecated",
    next_step=RELEASED_IN_0_1,
)
MILESTONE_NOTIFICATIONS = Patch(
    id="notify-milestones",
    changed="a recorded milestone notifies both parties",
    proof="tests/replay/histories/before-retirement/ (step 1) and tests/replay/golden/ (step 2); "
    "tests/replay/test_patch_registry.py",
    step="deprecated",
    next_step=RELEASED_IN_0_1,
)
LEAN_COMMANDS = Patch(
    id="lean-commands",
    changed="the armed stall timer is kept unless the wake-up moves earlier, and only the search "
    "attributes whose value changed are upserted",
    proof="tests/replay/histories/before-retirement/ (step 1) and tests/replay/golden/ (step 2); "
    "tests/replay/test_lean_commands_patch.py",
    step="deprecated",
    next_step=RELEASED_IN_0_1,
)
DIGEST_KPI_HEADER = Patch(
    id="digest-kpi-header",
    changed="the daily digest opens with the KPI header (open collaborations by stage, stalled ratio)",
    proof="tests/replay/histories/before-retirement/digest/ (step 1) and tests/replay/golden/digest/ "
    "(step 2); tests/replay/test_golden.py",
    step="deprecated",
    next_step="a digest runs for seconds, so a day after 0.2.0 no open one began before it: remove "
    "the call then",
)
BOUNDED_LIFE = Patch(
    id="bounded-life",
    changed="reminders back off and stop at a cap; a start input below the stall threshold floor "
    "is refused; notifications enter the outbox with their record and are delivered by key within "
    "a window; continue-as-new hands pending deliveries to the next run",
    proof="tests/replay/histories/before-bounded-life/talkative/; tests/replay/test_bounded_life_patch.py",
    step="patched",
    next_step="deprecate once every collaboration started under 0.1 has continued-as-new or closed: "
    "until then its run takes the old branch (the audit replay above finds any that remain)",
)

PLAYBOOKS = Patch(
    id="playbooks",
    changed="a new collaboration reads its programme's current playbook (the load_playbook "
    "activity) before it records its start, and runs under that version's gates",
    proof="tests/replay/golden/ (histories without the marker replay without the activity); "
    "tests/replay/test_playbooks_patch.py",
    step="patched",
    next_step="deprecate once no open collaboration began before the release that added it (the audit replay "
    "above finds any that remain)",
)

# The patches above, settled: every run begun since records this one marker instead of theirs.
# A patch's marker costs its run a marker event and, from the SDK, an upsert of the
# `TemporalChangeVersion` search attribute (a visibility write on the server), in its first
# workflow tasks: five of each for a new collaboration, one of each now.
SETTLED = Patch(
    id="settled-0.3",
    changed="a new run records only this marker: `bounded-life` and `playbooks` apply without "
    "their own markers, and the deprecated markers of `memo-collaboration-id`, `lean-commands` and "
    "`notify-milestones` are no longer written",
    proof="tests/replay/histories/settled/ (recorded with it) and the goldens (without it); "
    "tests/replay/test_settled_patch.py",
    step="patched",
    next_step="deprecate with the patches it settles: once no open collaboration began before the "
    "release that added it, the others' calls and their old branches go, and this call with them",
)

# Asked only by a start input that holds such a character: an ordinary run records no marker.
VISIBLE_TEXT = Patch(
    id="visible-text",
    changed="a start input whose one-line fields hold an invisible or reordering character "
    "(schemas/fields.py) fails the workflow; a run begun before keeps its names, and every "
    "update handler decodes its request as its validator accepted it",
    proof="tests/replay/histories/before-visible-text/ (a lifecycle with such names, across "
    "continue-as-new); tests/replay/test_visible_text_patch.py",
    step="patched",
    next_step="deprecate once no open collaboration began before the release that added it (the audit "
    "replay above finds any that remain)",
)

# Runs begun before `settled-0.4` ask it only where it decides something (a closing run with
# deliveries still under way, a continue-as-new while some are): at most one marker, there.
PROMPT_CLOSE = Patch(
    id="prompt-close",
    changed="a run that reaches its outcome gives the deliveries under way a short grace, then "
    "completes, handing what remains to a `DeliveryWorkflow` child started with the abandon "
    "policy; continue-as-new gives them the same short grace (not ten seconds) and lets go of "
    "what it carries to the next run",
    proof="tests/replay/histories/before-prompt-close/ (a channel down through a continue-as-new and "
    "a closing, recorded when runs waited for their deliveries); tests/replay/test_prompt_close_patch.py",
    step="patched",
    next_step="deprecate once no open collaboration began before the release that added it (the audit "
    "replay above finds any that remain)",
)

# `settled-0.3` and `prompt-close`, settled: a run begun since records this one marker, in its
# first task, and neither of theirs.
SETTLED_04 = Patch(
    id="settled-0.4",
    changed="a new run records only this marker: the patches `settled-0.3` settles apply, and so "
    "does `prompt-close`, without markers of their own",
    proof="tests/replay/test_prompt_close_patch.py (a new run records it alone and hands its "
    "deliveries off); the goldens and tests/replay/histories/settled/ (without it)",
    step="patched",
    next_step="deprecate with the patches it settles, once no open collaboration began before the "
    "release that added it",
)

# Asked only by a run with a planned step or a decision date, where their timers are armed: the
# marker is in the histories that have them, and nowhere else.
PLANNED_STEPS = Patch(
    id="planned-steps",
    changed="a planned step ahead holds the stall clock until its end plus the grace, and arms a "
    "timer that marks it missed; a decision date arms a timer that says it is overdue",
    proof="tests/replay/golden/planned-steps/ (a collaboration with planned steps, a missed step and "
    "an overdue decision); tests/replay/test_planned_steps_patch.py (it replays, and not without the "
    "timers); tests/replay/test_golden.py (the goldens before it replay)",
    step="patched",
    next_step="deprecate once no open collaboration began before the release that added it (the audit "
    "replay above finds any that remain)",
)

REGISTRY = (
    MEMO,
    MILESTONE_NOTIFICATIONS,
    LEAN_COMMANDS,
    DIGEST_KPI_HEADER,
    BOUNDED_LIFE,
    PLAYBOOKS,
    SETTLED,
    VISIBLE_TEXT,
    PROMPT_CLOSE,
    SETTLED_04,
    PLANNED_STEPS,
)
