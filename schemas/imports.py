"""The `imported` part of a start input: a collaboration brought in from a spreadsheet.

It says which stage the collaboration has reached, the date each stage up to it was entered, and
optionally how and when it ended. A date may carry a time (UTC), as `passerelle export
collaborations` writes them, so that a collaboration moved to another instance keeps its exact
time in each stage; a plain date stands for midnight UTC. Only what needs no clock is checked
here (dates in stage order, one date per stage reached, `deployed` only from `deployment`); "not
in the future" needs today's date and is checked by `passerelle import`, because the workflow
must not read the wall clock.
"""

from datetime import UTC, date, datetime, time
from itertools import pairwise
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.fields import STRICT, LegacyLine
from schemas.stages import Outcome, Stage

_ORDER = list(Stage)

# A day, or an instant: `date` first, so that `2025-03-03` stays a day.
Moment = date | AwareDatetime


def effective_at(day: date | datetime) -> datetime:
    """Return the instant an imported date stands for: itself, or midnight UTC of that day."""
    if isinstance(day, datetime):
        return day.astimezone(UTC)
    return datetime.combine(day, time(0), tzinfo=UTC)


def _date_error(stage: str, message: str) -> PydanticCustomError:
    # `stage` in ctx lets `passerelle import` name the spreadsheet column (`<stage>_date`).
    return PydanticCustomError("stage_date", message, {"stage": stage})


class ImportedHistory(BaseModel):
    """Where an imported collaboration stands, with the dates its stages really began."""

    model_config = STRICT

    stage: Stage
    stage_dates: dict[Stage, Moment]
    outcome: Outcome | None = None
    closed_on: Annotated[Moment | None, Field(validate_default=True)] = None
    source: Annotated[str, Field(max_length=300), LegacyLine] = ""

    @field_validator("stage_dates")
    @classmethod
    def _dates_of_stages_reached_in_order(cls, dates: dict[Stage, Moment], info: ValidationInfo) -> Any:
        current = info.data.get("stage")
        if current is None:
            return dates
        reached = _ORDER[: _ORDER.index(current) + 1]
        for stage in dates:
            if stage not in reached:
                raise _date_error(stage.value, f"{stage.value} is after the current stage {current.value}")
        for stage in reached:
            if stage not in dates:
                raise _date_error(stage.value, f"a date is required for every stage reached ({stage.value})")
        for earlier, later in pairwise(reached):
            if effective_at(dates[later]) < effective_at(dates[earlier]):
                raise _date_error(
                    later.value,
                    f"{later.value} ({dates[later]}) is before {earlier.value} ({dates[earlier]})",
                )
        return dates

    @field_validator("outcome")
    @classmethod
    def _deployed_only_from_deployment(cls, outcome: Outcome | None, info: ValidationInfo) -> Any:
        stage = info.data.get("stage")
        if outcome is Outcome.DEPLOYED and stage is not None and stage is not Stage.DEPLOYMENT:
            raise ValueError(f"deployed is only possible from deployment, not {stage.value}")
        return outcome

    @field_validator("closed_on")
    @classmethod
    def _closed_with_an_outcome_after_the_last_stage(cls, closed: Moment | None, info: ValidationInfo) -> Any:
        if "outcome" not in info.data:  # the outcome itself is wrong: that error says enough
            return closed
        outcome, dates = info.data["outcome"], info.data.get("stage_dates")
        if (closed is None) != (outcome is None):
            raise ValueError("an outcome and its closing date go together")
        last = max(dates.values(), key=effective_at) if dates else None
        if closed is not None and last is not None and effective_at(closed) < effective_at(last):
            raise ValueError(f"closed ({closed}) before the last stage date ({last})")
        return closed

    def entry_dates(self) -> list[tuple[Stage, datetime]]:
        """Return each stage reached with the instant it began, in stage order."""
        return [(s, effective_at(self.stage_dates[s])) for s in _ORDER if s in self.stage_dates]
