"""The daily digest: which collaborations are stalled, sent to the programme's operators."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from schemas.fields import STRICT
from schemas.stages import Stage


class DigestRequest(BaseModel):
    """Input of `DigestWorkflow`, carried by the daily Schedule."""

    model_config = STRICT

    recipients: Annotated[list[EmailStr], Field(min_length=1, max_length=50)]
    programme: str | None = None  # None: every programme
    language: str = "en"


class StalledCollaboration(BaseModel):
    """One line of the digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    corporate: str
    startup: str
    programme: str
    stage: Stage
    stage_since: datetime
    updated_at: datetime


class Digest(BaseModel):
    """What the digest workflow found and sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generated_at: datetime
    stalled: list[StalledCollaboration]
    notification_key: str
