"""Planned steps and the decision date, judged and applied by the pure domain (no server).

The rules refuse what is not open, the stall clock waits for the plan, a missed step stops
holding it, invitations keep one UID per step with a SEQUENCE that only grows, and whatever
sequence of plan, reschedule, cancel and held arrives, the state stays bounded.
"""

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from activities.rendering import Renderer
from schemas import EventKind, Outcome, Stage
from schemas.partners import PartnerAction, PartnerAnswer
from schemas.steps import (
    MAX_OPEN_STEPS,
    CancelStep,
    DecisionDate,
    PlanStep,
    RescheduleStep,
    StepHeld,
    StepKind,
)
from tests.factories import request
from workflows.domain import notifications, partner_ops, playbook_ops, step_ops, steps, timers, views
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def fresh() -> CollaborationState:
    return CollaborationState.begin(request(), "w", "c", NOW)


def plan(state: CollaborationState, at: datetime, now: datetime = NOW, **more: object) -> str:
    asked = PlanStep.model_validate({"kind": "meeting", "at": at, "by": "ops", **more})
    step_ops.check_plan(state, asked)
    step_ops.plan(state, asked, None, now)
    return state.steps[-1].id if state.steps[-1].at == at else next(s.id for s in state.steps if s.at == at)


def refusal(check: object, state: CollaborationState, asked: object) -> str:
    with pytest.raises(Refused) as err:
        check(state, asked)  # type: ignore[operator]
    return err.value.type


def test_a_planned_step_holds_the_stall_clock_until_its_end_plus_the_grace() -> None:
    state = fresh()
    assert state.next_reminder_at == NOW + 14 * DAY  # introduction's threshold
    plan(state, NOW + 20 * DAY, minutes=90)
    hold = NOW + 20 * DAY + timedelta(minutes=90) + 2 * DAY
    assert state.plan_hold == hold and state.next_reminder_at == hold
    assert state.due_soon_at == hold - 14 * DAY * 0.2
    # A step sooner than the threshold holds nothing: the clock's own deadline is later.
    other = fresh()
    plan(other, NOW + DAY)
    assert other.next_reminder_at == NOW + 14 * DAY


def test_a_missed_step_asks_what_happened_then_the_clock_runs_a_threshold_on() -> None:
    state = fresh()
    plan(state, NOW + 20 * DAY)
    armed = timers.duties(state, backoff=True, plans=lambda: True)
    missed_at = NOW + 20 * DAY + timedelta(minutes=60) + 2 * DAY
    assert [(d.why, d.at) for d in armed if d.why == "planned step"] == [("planned step", missed_at)]
    due = timers.first_due(armed, missed_at)
    assert due is not None and due.why == "planned step"  # first, though the hold ends then too
    entries = steps.miss(state, missed_at)
    assert [e.kind for e in entries] == [EventKind.STEP_MISSED]
    assert state.steps[0].missed and state.step_counts.missed == 1
    assert state.plan_hold is None and state.next_reminder_at == missed_at + 14 * DAY
    note = notifications.notification_for(state, entries[0])
    assert note is not None and {r.role for r in note.recipients} == {"corporate", "startup", "owner"}


def test_paused_or_closed_collaborations_arm_no_step_or_decision_timer() -> None:
    state = fresh()
    plan(state, NOW + 3 * DAY)
    step_ops.set_decision_date(state, DecisionDate(on=date(2027, 3, 10), by="ops"), None, NOW)
    assert steps.missed_at(state) is not None and steps.decision_due_at(state) is not None
    state.paused = True
    assert steps.missed_at(state) is None and steps.decision_due_at(state) is None
    state.paused, state.outcome = False, Outcome.DECLINED
    assert steps.missed_at(state) is None and steps.decision_due_at(state) is None
    asked: list[bool] = []
    timers.duties(state, backoff=True, plans=lambda: asked.append(True) or True)
    assert asked == []  # nothing to arm: the patch is not even asked


def test_the_rules_refuse_unknown_steps_too_many_and_closed() -> None:
    state = fresh()
    for day in range(1, MAX_OPEN_STEPS + 1):
        plan(state, NOW + day * DAY)
    fourth = PlanStep(kind=StepKind.DEMO, at=NOW + 9 * DAY, by="ops")
    assert refusal(step_ops.check_plan, state, fourth) == "TooManySteps"
    assert refusal(step_ops.check_step, state, StepHeld(step="s9", by="ops")) == "UnknownStep"
    step_ops.check_step(state, StepHeld(step="s2", by="ops"))  # an open one is fine
    state.outcome = Outcome.ABANDONED
    assert refusal(step_ops.check_plan, state, fourth) == "CollaborationClosed"
    state.outcome, state.stage = None, Stage.DEPLOYMENT
    decision = DecisionDate(on=date(2027, 6, 1), by="ops")
    assert refusal(step_ops.check_decision_date, state, decision) == "AlreadyDecided"


def test_requests_refuse_times_without_an_offset_and_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="timezone"):
        PlanStep.model_validate({"kind": "meeting", "at": "2027-03-30T10:00:00", "by": "ops"})
    with pytest.raises(ValueError, match="minutes"):
        PlanStep.model_validate({"kind": "meeting", "at": NOW, "minutes": 10, "by": "ops"})
    with pytest.raises(ValueError, match="with_whom"):
        PlanStep.model_validate({"kind": "demo", "at": NOW, "with_whom": ["a@b.example"] * 11, "by": "ops"})
    with pytest.raises(ValueError, match="step"):
        StepHeld.model_validate({"step": "s0", "by": "ops"})


def test_an_invitation_keeps_its_uid_and_raises_its_sequence_until_cancelled() -> None:
    state = fresh()
    step = plan(state, NOW + 5 * DAY, where="Station F")
    invitations = [_invitation(state)]
    step_ops.reschedule(state, RescheduleStep(step=step, at=NOW + 6 * DAY, by="ops"), None, NOW)
    invitations.append(_invitation(state))
    step_ops.cancel(state, CancelStep(step=step, by="ops"), None, NOW)
    invitations.append(_invitation(state))
    assert {i["uid"] for i in invitations} == {"c-s1@passerelle"}
    assert [i["sequence"] for i in invitations] == [0, 1, 2]
    assert [i["method"] for i in invitations] == ["REQUEST", "REQUEST", "CANCEL"]
    assert invitations[1]["start"] == (NOW + 6 * DAY).isoformat() and invitations[0]["where"] == "Station F"
    assert invitations[0]["attendees"] == [state.contacts["corporate"], state.contacts["startup"]]
    assert state.steps == [] and state.step_counts.postponed == 1 and state.step_counts.cancelled == 1


def _invitation(state: CollaborationState) -> dict[str, object]:
    note = notifications.notification_for(state, state.history[-1])
    assert note is not None
    invitation: dict[str, object] = json.loads(note.context["calendar"])
    return invitation


def test_a_decision_date_escalates_once_then_backs_off_and_stops() -> None:
    state = fresh()
    step_ops.set_decision_date(state, DecisionDate(on=date(2027, 3, 10), by="ops"), None, NOW)
    due = datetime(2027, 3, 11, tzinfo=UTC)
    fired, at = [], steps.decision_due_at(state)
    assert at == due
    while at is not None:
        [entry] = steps.decision_overdue(state, at)
        fired.append((at, entry.details))
        at = steps.decision_due_at(state)
    gaps = [(b - a) / (14 * DAY) for (a, _), (b, _) in pairwise(fired)]
    assert gaps == [2, 4, 8, 16, 32, 64, 128]  # the stall reminders' schedule, from the escalation
    assert [d["escalation"] for _, d in fired] == [True] + [False] * 7  # type: ignore[index]
    assert steps.overdue(state)
    state.stage = Stage.DEPLOYMENT  # the decision is taken: nothing is overdue any more
    assert not steps.overdue(state) and steps.decision_due_at(state) is None


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["plan", "reschedule", "cancel", "held", "miss"]),
        st.integers(1, 12),  # which step, by number
        st.integers(-3, 400),  # days from the operation's time
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_any_sequence_of_step_updates_stays_bounded_with_sequences_that_only_grow(
    operations: list[tuple[str, int, int]],
) -> None:
    """Whatever arrives, at most `MAX_OPEN_STEPS` steps are kept, a step's SEQUENCE grows with
    each change to its invitation, and what the rules refuse changes nothing."""
    state, now = fresh(), NOW
    sequences: dict[str, int] = {}
    for op, number, days in operations:
        now += timedelta(hours=7)
        step_id, at = f"s{number}", now + days * DAY
        before = state.model_dump()
        try:
            if op == "plan":
                asked = PlanStep(kind=StepKind.MEETING, at=at, by="ops", note="n" * 1000 if days % 2 else "")
                step_ops.check_plan(state, asked)
                step_ops.plan(state, asked, None, now)
            elif op == "miss":
                if steps.missed_at(state) is None:
                    continue
                steps.miss(state, now)
            else:
                model = {"reschedule": RescheduleStep, "cancel": CancelStep, "held": StepHeld}[op]
                fields = {"step": step_id, "by": "ops"} | ({"at": at} if op == "reschedule" else {})
                asked_step = model.model_validate(fields)
                step_ops.check_step(state, asked_step)
                {"reschedule": step_ops.reschedule, "cancel": step_ops.cancel, "held": step_ops.held}[op](
                    state, asked_step, None, now
                )
        except Refused:
            assert state.model_dump() == before
            continue
        assert len(state.steps) <= MAX_OPEN_STEPS
        assert all(len(s.note) <= 280 for s in state.steps)
        entry = state.history[-1]
        if entry.details and "sequence" in entry.details:
            sid, sequence = entry.details["step"], entry.details["sequence"]
            assert sequence >= sequences.get(sid, 0)
            if entry.kind in (EventKind.STEP_RESCHEDULED, EventKind.STEP_CANCELLED):
                assert sequence == sequences[sid] + 1
            sequences[sid] = sequence
    assert len(state.model_dump_json()) < 20_000
    c = state.step_counts
    assert c.planned == c.held + c.cancelled + len(state.steps)


@pytest.mark.parametrize(("language", "words"), [("en", "took place"), ("fr", "a eu lieu")])
def test_a_partners_held_answer_tells_the_owner_in_their_language(language: str, words: str) -> None:
    state = CollaborationState.begin(request(language=language), "w", "c", NOW)
    plan(state, NOW + 2 * DAY)
    answer = PartnerAnswer(
        party="startup", action=PartnerAction.HELD, step="s1", link="a" * 32, answered_seq=2
    )
    partner_ops.check_answer(state, answer)
    entry = partner_ops.answer(state, answer, None, NOW + 3 * DAY)
    assert entry.kind is EventKind.STEP_HELD and entry.actor == "partner:startup"
    sent = notifications.notification_for(state, entry)
    assert sent is not None and [r.role for r in sent.recipients] == ["owner"]
    message = Renderer("http://ui.example", "default").render(sent)
    assert words in message.text and "2027-03-03" not in message.subject  # Paris time, in words
    assert state.steps == [] and state.step_counts.held == 1


def test_a_missed_step_leaves_the_hold_of_the_steps_still_ahead() -> None:
    state = fresh()
    plan(state, NOW + 3 * DAY)
    plan(state, NOW + 60 * DAY, minutes=120)
    missed_at = steps.missed_at(state)
    assert missed_at == NOW + 3 * DAY + timedelta(minutes=60) + 2 * DAY
    steps.miss(state, missed_at)
    assert state.next_reminder_at == NOW + 60 * DAY + timedelta(minutes=120) + 2 * DAY
    assert steps.missed_at(state) == state.next_reminder_at  # the second step is asked about in turn


@pytest.mark.parametrize(
    ("model", "fields", "where"),
    [
        (PlanStep, {"kind": "meeting", "at": "9999-12-31T23:00:00+00:00", "by": "ops"}, "at"),
        (PlanStep, {"kind": "meeting", "at": "0001-01-01T00:30:00+01:00", "by": "ops"}, "at"),
        (RescheduleStep, {"step": "s1", "at": "2101-01-01T10:00:00+01:00", "by": "ops"}, "at"),
        (DecisionDate, {"on": "9999-12-31", "by": "ops"}, "on"),
        (
            PartnerAnswer,
            {
                "party": "startup",
                "action": "postponed",
                "step": "s1",
                "at": "9999-12-31T10:00:00+00:00",
                "link": "a" * 32,
                "answered_seq": 2,
            },
            "at",
        ),
    ],
)
def test_times_out_of_any_plan_are_refused_by_field_before_they_overflow(
    model: type[BaseModel], fields: dict[str, object], where: str
) -> None:
    """A step's end, its grace and a date's next day are computed in the workflow: a year past
    the calendar's end would fail its task for ever, so the request refuses it."""
    with pytest.raises(ValidationError) as err:
        model.model_validate(fields)
    assert [e["loc"][0] for e in err.value.errors()] == [where]
    assert "between 2000 and 2100" in str(err.value)


def test_a_partners_postponement_holds_the_reminders_no_longer_than_a_pause() -> None:
    state = fresh()
    plan(state, NOW + 2 * DAY)
    far = NOW + 300 * DAY
    answer = PartnerAnswer(
        party="startup", action=PartnerAction.POSTPONED, step="s1", at=far, link="b" * 32, answered_seq=2
    )
    partner_ops.check_answer(state, answer)
    partner_ops.answer(state, answer, None, NOW)
    assert state.steps[0].at == far and state.steps[0].sequence == 1
    assert state.next_reminder_at == NOW + 60 * DAY  # a pause's longest, not the new time's
    # The operator's own move of the same step holds until it.
    step_ops.reschedule(state, RescheduleStep(step="s1", at=far, by="ops"), None, NOW)
    assert state.next_reminder_at == far + timedelta(minutes=60) + 2 * DAY


def test_adopting_a_playbook_keeps_the_plans_hold() -> None:
    state = fresh()
    plan(state, NOW + 30 * DAY)
    held = state.next_reminder_at
    playbook_ops._rearm(state)
    assert state.next_reminder_at == held == NOW + 30 * DAY + timedelta(minutes=60) + 2 * DAY


def test_after_a_missed_step_the_status_counts_from_the_question() -> None:
    state = fresh()
    plan(state, NOW + 30 * DAY)
    missed_at = steps.missed_at(state)
    assert missed_at is not None
    steps.miss(state, missed_at)
    status = views.status(state, missed_at + DAY)
    assert status.stall_deadline == missed_at + 14 * DAY == status.next_reminder_at
    assert status.sla.value == "on_track"


def test_the_web_uis_details_show_the_next_step_in_paris_time_and_a_decision_overdue() -> None:
    state = fresh()
    plan(state, datetime(2027, 3, 30, 8, tzinfo=UTC), where="Station F")
    step_ops.set_decision_date(state, DecisionDate(on=date(2027, 3, 10), by="ops"), None, NOW)
    details = views.current_details(state, NOW)
    assert "- **Next step s1**: meeting on 2027-03-30 10:00 (Paris) at Station F" in details
    assert "- **Decision date**: 2027-03-10\n" in details + "\n"
    steps.decision_overdue(state, datetime(2027, 3, 11, tzinfo=UTC))
    assert "- **Decision date**: 2027-03-10 (decision overdue)" in views.current_details(state, NOW)
    state.stage = Stage.DEPLOYMENT  # decided: the date is no longer shown
    assert "Decision date" not in views.current_details(state, NOW)
