"""Read what a collaboration recorded straight from its Temporal history.

Every recorded event passes through the `record_events` activity, and Temporal keeps each
activity's input in its `ActivityTaskScheduled` event, once, whatever the retries. Decoding those
inputs (with the project's data converter, so a payload codec applies too) gives the
collaboration's `HistoryEntry` list as the workflow decided it, across every run of the chain:
the reference that the Postgres rows are verified against and that the timeline tells.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.converter import DataConverter

from passerelle.audit.histories import Run
from schemas import EventRecord, HistoryEntry
from workflows.activity_names import RECORD_EVENTS


@dataclass(frozen=True)
class RecordedEntry:
    """One `HistoryEntry` as scheduled for recording, and where it sits in Temporal's history."""

    entry: HistoryEntry
    workflow_id: str
    run_id: str  # the run that recorded it (as sent to the activity)
    run_index: int  # 1 for the first run of the chain
    event_id: int  # its ActivityTaskScheduled event
    completed: bool = True  # False while the record activity has not completed (still retrying)


@dataclass(frozen=True)
class RunMark:
    """How a run of the chain began and ended, for the timeline."""

    run_index: int
    run_id: str
    started_at: datetime
    ended_at: datetime | None
    ending: str | None  # COMPLETED, CONTINUED_AS_NEW, TERMINATED, ... or None while running


def _when(event: object) -> datetime:
    return event.event_time.ToDatetime(UTC)  # type: ignore[attr-defined, no-any-return]


async def recorded_entries(runs: Sequence[Run], converter: DataConverter) -> list[RecordedEntry]:
    """Return every entry the workflow scheduled for recording, in `seq` order.

    `converter` is the settings' (`passerelle.platform.client.converter_for`): it decrypts what the worker
    encrypted. `seq` is the workflow's own numbering. The scheduling order can differ from it: an update that
    arrives with the start runs in the first workflow task, before `run` records `started`.
    """
    found = []
    for index, run in enumerate(runs, start=1):
        done = {
            e.activity_task_completed_event_attributes.scheduled_event_id
            for e in run.events
            if e.HasField("activity_task_completed_event_attributes")
        }
        for event in run.events:
            if not event.HasField("activity_task_scheduled_event_attributes"):
                continue
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name != RECORD_EVENTS:
                continue
            # decode() applies the payload codec (if any) then the pydantic converter
            (record,) = await converter.decode(list(attrs.input.payloads), [EventRecord])
            for entry in record.entries:
                found.append(
                    RecordedEntry(
                        entry, run.workflow_id, record.run_id, index, event.event_id, event.event_id in done
                    )
                )
    return sorted(found, key=lambda r: r.entry.seq)


def run_marks(runs: Sequence[Run]) -> list[RunMark]:
    """Return when each run started and how it ended."""
    marks = []
    for index, run in enumerate(runs, start=1):
        last = run.events[-1]
        name = EventType.Name(last.event_type).removeprefix("EVENT_TYPE_WORKFLOW_EXECUTION_")
        closed = name in {"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "CANCELED", "CONTINUED_AS_NEW"}
        marks.append(
            RunMark(
                index,
                run.run_id,
                _when(run.events[0]),
                _when(last) if closed else None,
                name if closed else None,
            )
        )
    return marks
