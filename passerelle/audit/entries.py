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
from temporalio.converter import DataConverter, default

from passerelle.audit.histories import Run
from passerelle.platform.keystore import DataKeyDestroyed
from schemas import EventRecord, HistoryEntry
from workflows.activity_names import RECORD_EVENTS
from workflows.search_attributes import OUTCOME, STAGE


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


@dataclass(frozen=True)
class ErasedRecord:
    """A `record_events` call whose input was sealed with a destroyed data key (docs/privacy.md).

    What stays readable is Temporal's own metadata: the run, the event, the time of the workflow
    task that scheduled it (the workflow's `now`, which every row it recorded carries as
    `occurred_at`), whether it completed, and the search attributes (stage, outcome) in force.
    """

    workflow_id: str
    run_id: str
    run_index: int
    event_id: int
    at: datetime  # when the workflow task that scheduled it started
    completed: bool
    stage: str | None  # the Stage search attribute in force when it was scheduled
    outcome: str | None
    run_started_at: datetime
    run_ended_at: datetime | None
    erasure: DataKeyDestroyed


@dataclass(frozen=True)
class Records:
    """What a chain's histories say was recorded: entries that read, and records that were erased."""

    entries: list[RecordedEntry]
    erased: list[ErasedRecord]


def _search_attribute(event: object, name: str) -> str | bool | None:
    """Return the value an upsert event sets for `name`: a string, None when unset, False when absent."""
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields  # type: ignore[attr-defined]
    if name not in fields:
        return False
    value = default().payload_converter.from_payload(fields[name])  # never encoded by the codec
    return str(value) if value not in (None, "", []) else None


async def read_records(runs: Sequence[Run], converter: DataConverter) -> Records:
    """Return every entry the workflow scheduled for recording, in `seq` order, and the erased ones.

    `converter` is the settings' (`passerelle.platform.client.converter_for`): it decrypts what the worker
    encrypted. `seq` is the workflow's own numbering. The scheduling order can differ from it: an update that
    arrives with the start runs in the first workflow task, before `run` records `started`.
    """
    found, erased = [], []
    marks = run_marks(runs)
    for index, run in enumerate(runs, start=1):
        done = {
            e.activity_task_completed_event_attributes.scheduled_event_id
            for e in run.events
            if e.HasField("activity_task_completed_event_attributes")
        }
        task_at = _when(run.events[0])
        stage: str | None = None
        outcome: str | None = None
        for event in run.events:
            if event.HasField("workflow_task_started_event_attributes"):
                task_at = _when(event)
            if event.HasField("upsert_workflow_search_attributes_event_attributes"):
                new_stage = _search_attribute(event, STAGE.name)
                new_outcome = _search_attribute(event, OUTCOME.name)
                stage = stage if new_stage is False else new_stage  # type: ignore[assignment]
                outcome = outcome if new_outcome is False else new_outcome  # type: ignore[assignment]
            if not event.HasField("activity_task_scheduled_event_attributes"):
                continue
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name != RECORD_EVENTS:
                continue
            completed = event.event_id in done
            try:
                # decode() applies the payload codec (if any) then the pydantic converter
                (record,) = await converter.decode(list(attrs.input.payloads), [EventRecord])
            except DataKeyDestroyed as erasure:
                mark = marks[index - 1]
                erased.append(
                    ErasedRecord(
                        run.workflow_id,
                        run.run_id,
                        index,
                        event.event_id,
                        task_at,
                        completed,
                        stage,
                        outcome,
                        mark.started_at,
                        mark.ended_at,
                        erasure,
                    )
                )
                continue
            for entry in record.entries:
                found.append(
                    RecordedEntry(entry, run.workflow_id, record.run_id, index, event.event_id, completed)
                )
    return Records(sorted(found, key=lambda r: r.entry.seq), erased)


async def recorded_entries(runs: Sequence[Run], converter: DataConverter) -> list[RecordedEntry]:
    """Return every entry the workflow scheduled for recording, in `seq` order (`read_records`);
    raise `DataKeyDestroyed` when a run is erased."""
    records = await read_records(runs, converter)
    if records.erased:
        raise records.erased[0].erasure
    return records.entries


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
