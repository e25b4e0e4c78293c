"""The contract's models: strict, bounded, with errors that name the field and the rule."""

import json

import pytest
from pydantic import ValidationError

from schemas import (
    Closure,
    CollaborationRequest,
    MilestoneRequest,
    SnoozeRequest,
    Stage,
    StageChange,
    describe_validation_error,
)
from tests.factories import EXAMPLE, request_data


def error_of(model: type, data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return describe_validation_error(info.value)


def test_architecture_example_is_valid() -> None:
    """The JSON of docs/architecture.md §1 is a valid start input, with the defaults filled in."""
    request = CollaborationRequest.model_validate_json(json.dumps(EXAMPLE))
    assert request.startup.label == "Next40"
    assert request.stall_days(Stage.PILOT) == 45
    assert request.escalate_after_reminders == 2


def test_missing_field_bad_email_and_unknown_stage_are_all_named() -> None:
    """One message lists every bad field with its rule."""
    data = request_data(owner_email="not-an-email", stall_after_days={"incubation": 3})
    del data["topic"]
    message = error_of(CollaborationRequest, data)
    assert "topic: Field required" in message
    assert "owner_email: value is not a valid email address" in message
    assert "stall_after_days key: Input should be 'introduction', 'qualification'" in message
    assert "incubation" not in message  # a key may be a value, and the message travels in clear


def test_unknown_fields_are_rejected() -> None:
    """A typo in a field name is an error, not silently ignored, and the intended field is named."""
    message = error_of(CollaborationRequest, request_data(programe="x"))
    assert "<key> (did you mean programme?): Extra inputs are not permitted" in message


@pytest.mark.parametrize("days", [0, -1, 3651, "soon"])
def test_stall_thresholds_are_positive_days(days: object) -> None:
    """Thresholds are positive numbers of days, at most ten years."""
    message = error_of(CollaborationRequest, request_data(stall_after_days={"pilot": days}))
    assert "stall_after_days.pilot" in message


def test_fractional_threshold_is_allowed() -> None:
    """0.01 day ≈ 15 minutes, for demos."""
    assert (
        CollaborationRequest.model_validate(request_data(stall_after_days={"pilot": 0.01})).stall_days(
            "pilot"
        )
        == 0.01
    )


def test_note_of_10_kb_is_refused_by_the_length_rule() -> None:
    """A 10 kB note is refused, naming the field and the limit, never truncated."""
    message = error_of(StageChange, {"to": "pilot", "by": "op", "note": "x" * 10_000})
    assert "note: String should have at most 4000 characters" in message


def test_quotes_and_sql_in_notes_are_kept_verbatim() -> None:
    """Free text is data: quotes and SQL fragments come back exactly as given."""
    note = 'it\'s "fine"; DROP TABLE milestones; --'
    assert StageChange(to="pilot", by="o'brien", note=note).note == note


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (StageChange, {"to": "deployed", "by": "op"}, "to"),
        (Closure, {"outcome": "won", "by": "op", "reason": "x"}, "outcome"),
        (Closure, {"outcome": "declined", "by": "op", "reason": ""}, "reason"),
        (MilestoneRequest, {"kind": "nda", "by": "", "note": ""}, "by"),
        (MilestoneRequest, {"kind": "nda", "by": "op", "evidence_url": "not a url"}, "evidence_url"),
        (SnoozeRequest, {"by": "op", "days": 0}, "days"),
    ],
)
def test_update_requests_name_the_bad_field(model: type, data: dict, field: str) -> None:
    """Every update's request is validated with a message naming the field."""
    assert f"{field}: " in error_of(model, data)


def test_json_schema_of_the_start_input_is_exported() -> None:
    """The start input's JSON Schema lists the required fields and forbids extras."""
    schema = CollaborationRequest.model_json_schema()
    assert set(schema["required"]) >= {"corporate", "startup", "programme", "topic", "sector", "owner_email"}
    assert schema["additionalProperties"] is False
