"""The portal's postponement form: a `datetime-local` value read as Paris time, ahead and within a
year, or one error that names the field and the rule; the answer then names the link's step.

The property test writes instants as the field shows them and reads them back: the same instant,
but in the hour the clocks repeat in October, which reads as its first occurrence.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from activities.links import Link
from passerelle.portal import steps
from passerelle.portal.forms import read_answer
from passerelle.portal.store import Email
from passerelle.portal.texts import texts
from schemas.partners import PartnerAction

NOW = datetime(2027, 1, 10, 14, 7, 31, tzinfo=UTC)
EXPIRES = datetime(2027, 2, 1, tzinfo=UTC)


def test_a_local_time_is_paris_time() -> None:
    assert steps.read_at("2027-01-20T10:30", NOW) == datetime(2027, 1, 20, 9, 30, tzinfo=UTC)  # winter
    assert steps.read_at("2027-07-01T10:30", NOW) == datetime(2027, 7, 1, 8, 30, tzinfo=UTC)  # summer
    assert steps.read_at("2027-07-01T10:30:00", NOW) == datetime(2027, 7, 1, 8, 30, tzinfo=UTC)
    # The hour skipped when the clocks go forward reads as the clocks of that night do.
    skipped = steps.read_at("2027-03-28T02:30", NOW)
    assert (
        skipped == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
        and steps.field_value(skipped) == "2027-03-28T03:30"
    )


def test_ahead_and_within_a_year_only() -> None:
    first, last = steps.bounds(NOW)
    assert (first, last) == (datetime(2027, 1, 10, 14, 8, tzinfo=UTC), NOW + timedelta(days=365))
    assert steps.read_at(steps.field_value(first), NOW) == first
    assert steps.read_at(steps.field_value(first - timedelta(minutes=1)), NOW) is None  # now: not ahead
    assert steps.read_at(steps.field_value(last - timedelta(minutes=1)), NOW) is not None
    assert steps.read_at(steps.field_value(last + timedelta(minutes=1)), NOW) is None
    for bad in ("", "2027-01-20", "2027-01-20 10:30", "2027-01-20T10:30+01:00", "2027-02-31T10:00", "demain"):
        assert steps.read_at(bad, NOW) is None, bad


@given(st.integers(min_value=1, max_value=365 * 24 * 60 - 1))
def test_the_field_reads_back_the_instant_it_shows(minutes: int) -> None:
    first, _ = steps.bounds(NOW)
    instant = first + timedelta(minutes=minutes - 1)
    read = steps.read_at(steps.field_value(instant), NOW)
    assert read is not None
    assert read == instant or read == instant - timedelta(hours=1)  # October's repeated hour
    assert read.utcoffset() in (timedelta(hours=1), timedelta(hours=2))


def link(action: PartnerAction, step: str = "s2") -> Link:
    return Link("c-1", "startup", action, 12, EXPIRES, step)


def test_a_postponement_without_a_good_date_is_one_error_naming_the_field() -> None:
    for form in ({}, {"at": ""}, {"at": "2020-01-01T10:00"}, {"at": "2031-01-01T10:00"}, {"at": "x"}):
        answer, errors = read_answer(link(PartnerAction.POSTPONED), form, "en")
        assert answer is None and len(errors) == 1, form
        assert errors[0].startswith("New date and time (Paris time): choose a date and time between ")
    answer, errors = read_answer(link(PartnerAction.POSTPONED), {}, "fr")
    assert errors[0].startswith("Nouvelle date et heure (heure de Paris) : choisissez")


def test_a_step_answer_names_the_links_step() -> None:
    ahead = steps.field_value(datetime.now(UTC) + timedelta(days=7))
    answer, errors = read_answer(link(PartnerAction.POSTPONED), {"at": ahead, "note": "Jury"}, "en")
    assert errors == [] and answer is not None
    assert (answer.step, answer.action, answer.note, answer.answered_seq) == ("s2", "postponed", "Jury", 12)
    assert answer.at is not None and steps.field_value(answer.at) == ahead
    for action in (PartnerAction.HELD, PartnerAction.CANCELLED):
        answer, errors = read_answer(link(action), {"at": ahead}, "en")  # a stray date is ignored
        assert errors == [] and answer is not None and (answer.step, answer.at) == ("s2", None)
    answer, _ = read_answer(link(PartnerAction.ON_IT, step=""), {}, "en")
    assert answer is not None and answer.step is None


def test_the_page_names_the_step_as_its_e_mail_showed_it() -> None:
    email = Email("w", "fr", "step_missed", "", "document", "2027-01-05T16:00:00+00:00")
    assert steps.about(texts("fr"), link(PartnerAction.HELD), email) == (
        "Au sujet du document attendu le 2027-01-05 17:00 (heure de Paris)."
    )
    unknown = Email("w", "en", "step_missed", "", "workshop", "")
    assert steps.about(texts("en"), link(PartnerAction.HELD), unknown) == "About the planned step s2."
    assert steps.about(texts("en"), link(PartnerAction.ON_IT, step=""), email) == ""


def test_it_took_place_waits_for_the_step_to_start() -> None:
    from schemas import CollaborationStatus
    from schemas.partners import PartnerAnswer
    from schemas.steps import Step, StepKind
    from tests.factories import request
    from workflows.domain import views
    from workflows.domain.state import CollaborationState

    state = CollaborationState.begin(request(), "w", "c", NOW)
    state.steps = [
        Step(id="s1", kind=StepKind.MEETING, at=NOW + timedelta(days=2), minutes=60, planned_by="ops")
    ]
    status: CollaborationStatus = views.status(state, NOW)
    held = PartnerAnswer(party="startup", action=PartnerAction.HELD, step="s1", link="a" * 32, answered_seq=3)
    t = texts("fr")
    assert "2027-01-12 15:07 (heure de Paris)" in steps.too_early(t, status, held, NOW)
    assert steps.too_early(t, status, held, NOW + timedelta(days=2)) == ""  # it has started
    cancelled = held.model_copy(update={"action": PartnerAction.CANCELLED})
    assert steps.too_early(t, status, cancelled, NOW) == ""  # cancelling ahead is the point
    other = held.model_copy(update={"step": "s2"})
    assert steps.too_early(t, status, other, NOW) == ""  # no such step: the workflow refuses it
