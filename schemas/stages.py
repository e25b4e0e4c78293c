"""Stages, outcomes and service-level states: the vocabulary operators type into the Web UI."""

from enum import StrEnum


class Stage(StrEnum):
    """A step of a live collaboration, in order."""

    INTRODUCTION = "introduction"
    QUALIFICATION = "qualification"
    PILOT = "pilot"
    EVALUATION = "evaluation"
    DEPLOYMENT = "deployment"


def stage_after(stage: Stage) -> Stage | None:
    """Return the stage one step forward of `stage`, or None after the last."""
    order = list(Stage)
    index = order.index(stage)
    return order[index + 1] if index + 1 < len(order) else None


def stage_before(stage: Stage) -> Stage | None:
    """Return the stage one step back of `stage`, or None before the first."""
    order = list(Stage)
    index = order.index(stage)
    return order[index - 1] if index > 0 else None


def is_ahead(stage: Stage, of: Stage) -> bool:
    """Return True when `stage` comes after `of` in the stages' order."""
    order = list(Stage)
    return order.index(stage) > order.index(of)


class Outcome(StrEnum):
    """How a collaboration ends; reaching one ends the workflow."""

    DEPLOYED = "deployed"
    DECLINED = "declined"
    ABANDONED = "abandoned"


class SlaState(StrEnum):
    """Where a collaboration stands against its stage's stall threshold."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"  # in the last 20 % of the threshold
    STALLED = "stalled"
    ESCALATED = "escalated"
    PAUSED = "paused"
    CLOSED = "closed"


# docs/architecture.md §3: days without news (a stage change, a milestone, a resume) before a
# stage counts as stalled.
DEFAULT_STALL_DAYS: dict[Stage, float] = {
    Stage.INTRODUCTION: 14,
    Stage.QUALIFICATION: 21,
    Stage.PILOT: 45,
    Stage.EVALUATION: 30,
    Stage.DEPLOYMENT: 60,
}
