"""Property tests over the start input and every update's request (hypothesis, ≥1,000 cases each).

Each generated document is either accepted, and then valid all the way down (storable in
PostgreSQL, round-trips through JSON, small, and the workflow's pure rules build the state, the
record and the notification from it), or rejected with one message that names every bad field,
each of which is a field the case actually touched. Pure validation: no server per case.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError

from schemas import (
    Closure,
    CollaborationRequest,
    EventRecord,
    MilestoneRequest,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    StageChange,
    describe_validation_error,
)
from schemas.errors import field_of
from schemas.steps import DecisionDate, PlanStep, RescheduleStep
from tests.factories import EXAMPLE, apply
from tests.fuzz.strategies import mutated
from workflows.domain import views
from workflows.domain.notifications import notification_for
from workflows.domain.state import CollaborationState

CASES = 1000
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAYLOAD_BUDGET = 256 * 1024  # far below Temporal's 512 kB warning and 2 MB limit

REQUEST_PATHS = [
    "corporate", "corporate.name", "corporate.contact_email", "corporate.label",
    "startup.name", "startup.contact_email", "startup.label", "programme", "topic", "sector",
    "owner_email", "language", "stall_after_days", "stall_after_days.pilot",
    "stall_after_days.incubation", "escalate_after_reminders", "tags", "link",
    "continue_as_new_after_events",
]  # fmt: skip
# A collaboration brought in from a spreadsheet: its `imported` part is fuzzed like the rest.
IMPORTED = {
    **EXAMPLE,
    "imported": {
        "stage": "pilot",
        "stage_dates": {"introduction": "2025-01-06", "qualification": "2025-02-03", "pilot": "2025-03-03"},
        "source": "pipeline.csv row 7",
    },
}
IMPORTED_PATHS = [
    "imported.stage", "imported.stage_dates", "imported.stage_dates.pilot",
    "imported.stage_dates.deployment", "imported.outcome", "imported.closed_on", "imported.source",
    "imported.unknown", "corporate.name", "topic",
]  # fmt: skip
# Rules across fields of `imported` name the field that breaks them, which may be the untouched
# one of the pair (an outcome without its closing date is reported on `closed_on`).
RELATED = {
    "imported.outcome": {"imported.closed_on"},
    "imported.closed_on": {"imported.outcome"},
    "imported.stage": {"imported.stage_dates", "imported.outcome", "imported.closed_on"},
    "imported.stage_dates": {"imported.closed_on"},
    "imported.stage_dates.pilot": {"imported.closed_on"},
    "imported.stage_dates.deployment": {"imported.closed_on"},
}
UPDATES: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "advance": (StageChange, {"to": "qualification", "by": "ops", "note": "call held"}),
    "record_milestone": (
        MilestoneRequest,
        {"kind": "NDA signed", "by": "ops", "note": "", "evidence_url": "https://e.example/nda"},
    ),
    "close": (Closure, {"outcome": "declined", "by": "ops", "reason": "no budget"}),
    "pause": (PauseRequest, {"by": "ops", "reason": "summer"}),
    "resume": (ResumeRequest, {"by": "ops"}),
    "snooze_reminders": (SnoozeRequest, {"by": "ops", "days": 7}),
    "plan_step": (
        PlanStep,
        {
            "kind": "meeting",
            "at": "2027-03-30T10:00:00+02:00",
            "minutes": 90,
            "where": "Station F",
            "with_whom": ["a@b.example"],
            "note": "steering committee",
            "by": "ops",
        },
    ),
    "reschedule_step": (RescheduleStep, {"step": "s1", "at": "2027-04-06T14:00:00+02:00", "by": "ops"}),
    "set_decision_date": (DecisionDate, {"on": "2027-06-30", "by": "ops"}),
}


def assert_storable(value: Any) -> None:
    """Every string could go into a PostgreSQL text column as it is."""
    if isinstance(value, str):
        assert "\x00" not in value
        value.encode("utf-8")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert_storable(k)
            assert_storable(v)
    elif isinstance(value, list):
        for v in value:
            assert_storable(v)


def assert_accepted_is_valid(model: BaseModel) -> None:
    assert_storable(model.model_dump(mode="json"))
    encoded = model.model_dump_json()
    assert len(encoded.encode()) < PAYLOAD_BUDGET
    assert type(model).model_validate_json(encoded) == model


def assert_rejection_names_touched_fields(err: ValidationError, what: str, touched: set[str]) -> None:
    message = describe_validation_error(err, what)
    assert message.startswith(f"invalid {what}: ")
    touched_parts = [tuple(path.split(".")) for path in touched]
    for error in err.errors():
        loc = tuple(str(p) for p in error["loc"])
        assert loc, "every error names a field"
        assert f"{field_of(error['loc'])}: " in message
        assert any(loc[: len(p)] == p or p[: len(loc)] == loc for p in touched_parts), (
            f"{loc} rejected, yet only {touched} were changed"
        )


def run_property(test: Any) -> int:
    """Run a hypothesis-decorated property; return how many cases it generated."""
    counter = {"n": 0}
    test(counter)
    return counter["n"]


PROFILE = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # every run explores afresh; CI keeps no example database
)


@pytest.mark.parametrize(
    ("base", "paths"), [(EXAMPLE, REQUEST_PATHS), (IMPORTED, IMPORTED_PATHS)], ids=["started", "imported"]
)
def test_start_input_is_accepted_and_valid_or_rejected_naming_the_field(
    base: dict[str, Any], paths: list[str]
) -> None:
    """1,000 mutated start inputs: valid through state, record and notification, or refused by field."""

    @PROFILE
    @given(case=mutated(base, paths))
    def prop(counter: dict[str, int], case: tuple[dict[str, Any], set[str]]) -> None:
        counter["n"] += 1
        doc, touched = case
        try:
            request = CollaborationRequest.model_validate(doc)
        except ValidationError as err:
            related = {r for path in touched for r in RELATED.get(path, ())}
            assert_rejection_names_touched_fields(err, "collaboration request", touched | related)
            return
        assert_accepted_is_valid(request)
        state = CollaborationState.begin(request, "collab-x", "run-1", NOW)
        entry = state.start_entry(NOW)
        entries = [entry, *state.import_entries(NOW)]
        record = EventRecord(run_id="run-1", entries=entries, projection=views.projection(state, NOW))
        assert_storable(record.model_dump(mode="json"))
        notification = notification_for(state, entry)
        assert notification is not None
        assert_storable(notification.model_dump(mode="json"))

    assert run_property(prop) >= CASES


@pytest.mark.parametrize("update", list(UPDATES))
def test_update_request_is_accepted_and_valid_or_rejected_naming_the_field(update: str) -> None:
    """1,000 mutated requests per update: applied by the pure rules, or refused by field."""
    model, base = UPDATES[update]

    @PROFILE
    @given(case=mutated(base, list(base)))
    def prop(counter: dict[str, int], case: tuple[dict[str, Any], set[str]]) -> None:
        counter["n"] += 1
        doc, touched = case
        try:
            request = model.model_validate(doc)
        except ValidationError as err:
            assert_rejection_names_touched_fields(err, update, touched)
            return
        assert_accepted_is_valid(request)
        state = CollaborationState.begin(CollaborationRequest.model_validate(EXAMPLE), "w", "r", NOW)
        if update == "resume":
            apply(state, "pause", PauseRequest(by="ops", reason="x"), NOW)
        if update == "reschedule_step":  # a step to move: s1
            apply(state, "plan_step", PlanStep.model_validate(UPDATES["plan_step"][1]), NOW)
        try:
            entry = apply(state, update, request, NOW)
        except ValueError:
            return  # a move the transition table forbids: the update's validator refuses it
        assert_storable(entry.model_dump(mode="json"))
        assert_storable(views.projection(state, NOW).model_dump(mode="json"))
        sent = notification_for(state, entry)
        if sent is not None:  # an invitation's calendar too
            assert_storable(sent.model_dump(mode="json"))

    assert run_property(prop) >= CASES


@pytest.mark.parametrize("source", ["sheet\x00.csv", "sheet.csv\nrow 2", "\x1b[31mred", "x" * 301])
def test_imported_source_is_checked_like_every_text(source: str) -> None:
    """A NUL would make the record activity retry for ever; it is refused before history."""
    doc = {**IMPORTED, "imported": {**IMPORTED["imported"], "source": source}}
    with pytest.raises(ValidationError) as err:
        CollaborationRequest.model_validate(doc)
    assert describe_validation_error(err.value, "r").startswith("invalid r: imported.source: ")


def test_a_running_collaboration_keeps_its_unchecked_source() -> None:
    """Carried state of a collaboration started before the rule still reads (context `legacy`)."""
    doc = {**IMPORTED, "imported": {**IMPORTED["imported"], "source": "two\nlines"}}
    assert CollaborationRequest.model_validate(doc, context={"legacy": True}).imported is not None
