"""Each update's rule, written once in `workflows.domain.rules`, judges the same in every place it runs.

The workflow's state (validator and handler), the status query's answer and a visibility row all
carry the three facts a rule reads; each refusal has a stable type. The playbook updates' rules
read the state's playbook progress too: tests/unit/test_gates.py. A partner's answer reads the
three facts, plus the state's latest answers to refuse a link used twice.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from passerelle.cli.visibility import Row
from schemas import (
    Closure,
    CollaborationStatus,
    MilestoneRequest,
    Outcome,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    Stage,
    StageChange,
)
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.privacy import ContactErasure
from schemas.steps import DecisionDate, PlanStep, StepKind
from tests.factories import request
from workflows.domain import views
from workflows.domain.rules import Facts
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.updates import UPDATES

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
REQUESTS: dict[str, Any] = {
    "advance": StageChange(to=Stage.QUALIFICATION, by="ops"),
    "record_milestone": MilestoneRequest(kind="NDA signed", by="ops"),
    "close": Closure(outcome=Outcome.DEPLOYED, by="ops", reason="done"),
    "pause": PauseRequest(by="ops", reason="summer"),
    "resume": ResumeRequest(by="ops"),
    "snooze_reminders": SnoozeRequest(by="ops", days=3),
    "partner_answer": PartnerAnswer(
        party="startup", action=PartnerAction.PAUSE, link="0" * 32, answered_seq=1, days=9
    ),
    "plan_step": PlanStep(kind=StepKind.MEETING, at=datetime(2026, 3, 9, 10, tzinfo=UTC), by="ops"),
    "set_decision_date": DecisionDate(on=datetime(2026, 6, 30).date(), by="ops"),
    "erase_contact": ContactErasure(
        email="partners@nabla.example",
        pseudonym="erased:0123456789ab",
        by="dpo",
        reason="GDPR request",
        next_key="0" * 24,
    ),
}
# (stage, outcome, paused) -> the type each update is refused with, or None when it is allowed.
CASES: list[tuple[tuple[Stage, Outcome | None, bool], dict[str, str | None]]] = [
    (
        (Stage.INTRODUCTION, None, False),
        {
            "advance": None,
            "record_milestone": None,
            "close": "IllegalMove",
            "pause": None,
            "resume": "NotPaused",
            "snooze_reminders": None,
            "partner_answer": None,
            "plan_step": None,
            "set_decision_date": None,
            "erase_contact": None,
        },
    ),
    (
        (Stage.DEPLOYMENT, None, True),
        {
            "advance": "IllegalMove",
            "record_milestone": None,
            "close": None,
            "pause": "AlreadyPaused",
            "resume": None,
            "snooze_reminders": None,
            "partner_answer": "AlreadyPaused",
            "plan_step": None,
            "set_decision_date": "AlreadyDecided",
            "erase_contact": None,
        },
    ),
    (
        (Stage.PILOT, Outcome.DECLINED, False),
        {
            "advance": "IllegalMove",
            "record_milestone": "CollaborationClosed",
            "close": "IllegalMove",
            "pause": "CollaborationClosed",
            "resume": "CollaborationClosed",
            "snooze_reminders": "CollaborationClosed",
            "partner_answer": "CollaborationClosed",
            "plan_step": "CollaborationClosed",
            "set_decision_date": "CollaborationClosed",
            "erase_contact": "CollaborationClosed",
        },
    ),
]


def as_state(stage: Stage, outcome: Outcome | None, paused: bool) -> CollaborationState:
    state = CollaborationState.begin(request(), "w", "c", NOW)
    state.stage, state.outcome, state.paused = stage, outcome, paused
    return state


def as_status(stage: Stage, outcome: Outcome | None, paused: bool) -> CollaborationStatus:
    return views.status(as_state(stage, outcome, paused), NOW)


def as_row(stage: Stage, outcome: Outcome | None, paused: bool) -> Facts:
    row = Row(
        "w",
        "A",
        "B",
        "P",
        None,
        stage.value,
        outcome.value if outcome else None,
        False,
        paused,
        "running",
        NOW,
    )
    facts = row.facts()
    assert facts is not None
    return facts


def verdict(facts: Facts, update: str) -> str | None:
    check = UPDATES[update].rule
    try:
        check(facts, REQUESTS[update])
    except Refused as err:
        return err.type
    return None


@pytest.mark.parametrize("source", [as_state, as_status, as_row])
@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_every_source_of_facts_gets_the_same_verdict(
    source: Any, facts: tuple[Stage, Outcome | None, bool], expected: dict[str, str | None]
) -> None:
    assert {update: verdict(source(*facts), update) for update in REQUESTS} == expected


def test_only_playbook_and_step_updates_read_more_than_the_three_facts() -> None:
    """The other updates' rules also read the playbook progress, or the open steps, which only the
    state and the status have (tests/unit/test_gates.py and tests/unit/test_steps.py judge them)."""
    assert set(UPDATES) - set(REQUESTS) == {
        "request_approval",
        "approve",
        "reject",
        "score",
        "adopt_playbook",
        "reschedule_step",
        "cancel_step",
        "step_held",
    }


def test_an_operation_applies_what_its_rule_allowed_without_judging_again() -> None:
    """The rule is judged once, by the validator (or by the handler on replay or when the state
    changed since): the operation never runs it, so it applies even where the rule would refuse."""
    state = as_state(Stage.DEPLOYMENT, None, True)
    assert verdict(state, "pause") == "AlreadyPaused"
    entry = UPDATES["pause"].operation(state, REQUESTS["pause"], None, NOW)
    assert entry.kind == "paused" and state.paused


def test_a_row_without_its_attributes_is_left_to_the_workflow() -> None:
    """Before the first workflow task sets Stage and Paused, bulk has nothing to judge by."""
    assert Row("w", None, None, None, None, None, None, None, None, "running", NOW).facts() is None
    assert Row("w", None, None, None, None, "launch", None, None, False, "running", NOW).facts() is None
