"""The start input of a collaboration, exactly as pasted into the Web UI's Start Workflow form."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl

from schemas.fields import STRICT, Label, Name, Slug, StallDays, Tag
from schemas.imports import ImportedHistory
from schemas.privacy import Contact
from schemas.stages import DEFAULT_STALL_DAYS, Stage


class Party(BaseModel):
    """One side of a collaboration: a corporate group or a start-up."""

    model_config = STRICT

    name: Name
    contact_email: Contact  # an address; its pseudonym once erased (docs/privacy.md)
    label: Label | None = None


class CollaborationRequest(BaseModel):
    """Everything needed to start a collaboration (docs/architecture.md §1)."""

    model_config = STRICT

    corporate: Party
    startup: Party
    programme: Name
    topic: Name
    sector: Slug
    owner_email: Contact
    language: Literal["fr", "en"] = "fr"
    stall_after_days: dict[Stage, StallDays] = Field(default_factory=dict)
    escalate_after_reminders: Annotated[int, Field(ge=1, le=20)] = 2
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    link: HttpUrl | None = None
    # Advanced: continue-as-new after this many history events (the SDK's own suggestion still
    # applies). Useful to bound histories harder, and how the tests force a continue-as-new.
    continue_as_new_after_events: Annotated[int, Field(ge=20, le=50_000)] | None = None
    # Set by `passerelle import`: the collaboration began before Passerelle tracked it.
    imported: ImportedHistory | None = None

    def stall_days(self, stage: Stage) -> float:
        """Return this collaboration's stall threshold for a stage, in days."""
        return self.stall_after_days.get(stage, DEFAULT_STALL_DAYS[stage])
