"""The contract of Passerelle: pydantic models for every input, update, status and record.

Operators paste these shapes into the Temporal Web UI, the CLI builds them from flags, the workflow
and activities exchange them. One model in, one out, each named for what it is.
"""

from schemas.collaboration import CollaborationRequest, Party
from schemas.digest import Digest, DigestRequest, StalledCollaboration
from schemas.errors import describe_validation_error
from schemas.imports import ImportedHistory
from schemas.kpis import KpiFilters, KpiReport, KpiSummary, StageKpi
from schemas.operations import (
    Closure,
    MilestoneRequest,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    StageChange,
)
from schemas.records import (
    EventKind,
    EventRecord,
    HistoryEntry,
    Notification,
    NotificationEvent,
    Projection,
    Recipient,
)
from schemas.stages import DEFAULT_STALL_DAYS, Outcome, SlaState, Stage
from schemas.status import CollaborationStatus

__all__ = [
    "DEFAULT_STALL_DAYS",
    "Closure",
    "CollaborationRequest",
    "CollaborationStatus",
    "Digest",
    "DigestRequest",
    "EventKind",
    "EventRecord",
    "HistoryEntry",
    "ImportedHistory",
    "KpiFilters",
    "KpiReport",
    "KpiSummary",
    "MilestoneRequest",
    "Notification",
    "NotificationEvent",
    "Outcome",
    "Party",
    "PauseRequest",
    "Projection",
    "Recipient",
    "ResumeRequest",
    "SlaState",
    "SnoozeRequest",
    "Stage",
    "StageChange",
    "StageKpi",
    "StalledCollaboration",
    "describe_validation_error",
]
