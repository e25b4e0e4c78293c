"""The transition table: every allowed and every forbidden move."""

import itertools

import pytest

from schemas import Outcome, Stage
from workflows.domain.transitions import IllegalMove, allowed_moves, check_move

S, O = Stage, Outcome
EXPECTED: dict[Stage, set[Stage | Outcome]] = {
    S.INTRODUCTION: {S.QUALIFICATION, O.DECLINED, O.ABANDONED},
    S.QUALIFICATION: {S.PILOT, O.DECLINED, O.ABANDONED},
    S.PILOT: {S.EVALUATION, O.DECLINED, O.ABANDONED},
    S.EVALUATION: {S.DEPLOYMENT, S.PILOT, O.DECLINED, O.ABANDONED},
    S.DEPLOYMENT: {O.DEPLOYED, O.DECLINED, O.ABANDONED},
}
ALL_TARGETS: list[Stage | Outcome] = [*Stage, *Outcome]


@pytest.mark.parametrize(("stage", "target"), list(itertools.product(Stage, ALL_TARGETS)))
def test_each_move_is_allowed_exactly_when_the_table_says(stage: Stage, target: Stage | Outcome) -> None:
    """check_move accepts the table's moves and refuses every other one, listing the allowed."""
    if target in EXPECTED[stage]:
        check_move(stage, None, target)
    else:
        with pytest.raises(IllegalMove) as info:
            check_move(stage, None, target)
        message = str(info.value)
        assert f"from {stage.value}" in message
        for allowed in EXPECTED[stage]:
            assert allowed.value in message


@pytest.mark.parametrize("stage", list(Stage))
def test_allowed_moves_match_the_contract(stage: Stage) -> None:
    """allowed_moves lists exactly the contract's moves, forward stage first."""
    moves = allowed_moves(stage)
    assert set(moves) == EXPECTED[stage]
    assert len(moves) == len(set(moves))


@pytest.mark.parametrize(("outcome", "target"), list(itertools.product(Outcome, ALL_TARGETS)))
def test_no_move_after_an_outcome(outcome: Outcome, target: Stage | Outcome) -> None:
    """Once closed, nothing moves, and the error says why."""
    assert allowed_moves(Stage.DEPLOYMENT, outcome) == ()
    with pytest.raises(IllegalMove, match=f"closed \\({outcome.value}\\)"):
        check_move(Stage.DEPLOYMENT, outcome, target)


def test_deployed_only_from_deployment() -> None:
    """`deployed` is a success reachable from the last stage only."""
    reachable = [s for s in Stage if Outcome.DEPLOYED in allowed_moves(s)]
    assert reachable == [Stage.DEPLOYMENT]
