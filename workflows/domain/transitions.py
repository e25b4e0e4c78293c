"""The transition table: which moves a collaboration may make from each stage.

One pure, tested source of truth for `workflows.domain.rules`, which the workflow's validators and
handlers and `passerelle bulk` share (docs/architecture.md §1, Allowed moves):
- one step forward through the stages;
- back from `evaluation` to `pilot` (a pilot extended or re-run);
- any stage to `declined` or `abandoned`; `deployed` only from `deployment`.
"""

from schemas.stages import Outcome, Stage, stage_after

Target = Stage | Outcome

_BACK: dict[Stage, tuple[Stage, ...]] = {Stage.EVALUATION: (Stage.PILOT,)}


class Refused(ValueError):
    """An update the rules forbid in the collaboration's present state; `type` names the rule."""

    type = "Refused"


class IllegalMove(Refused):
    """A stage change or closure that the transition table forbids."""

    type = "IllegalMove"


def allowed_moves(stage: Stage, outcome: Outcome | None = None) -> tuple[Target, ...]:
    """Return every target reachable from `stage`, stages first; none once an outcome is reached."""
    if outcome is not None:
        return ()
    after = stage_after(stage)
    forward: tuple[Stage, ...] = (after,) if after is not None else ()
    endings = (Outcome.DEPLOYED,) if stage is Stage.DEPLOYMENT else ()
    return (*forward, *_BACK.get(stage, ()), *endings, Outcome.DECLINED, Outcome.ABANDONED)


def check_move(stage: Stage, outcome: Outcome | None, target: Target) -> None:
    """Raise IllegalMove, listing the allowed moves, unless `stage` → `target` is allowed."""
    if outcome is not None:
        raise IllegalMove(f"the collaboration is closed ({outcome.value}); no move is allowed")
    allowed = allowed_moves(stage)
    if target not in allowed:
        names = ", ".join(t.value for t in allowed)
        verb = "close as" if isinstance(target, Outcome) else "move to"
        raise IllegalMove(
            f"cannot {verb} {target.value} from {stage.value}; allowed from {stage.value}: {names}"
        )
