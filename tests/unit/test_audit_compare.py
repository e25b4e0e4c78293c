"""The verify diff and the stage clock, on hand-made entries and rows (pure, no server)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.workflow import NondeterminismError

from passerelle.audit.entries import RecordedEntry
from passerelle.audit.replay import _event_type
from passerelle.audit.timeline import human, stage_times
from passerelle.audit.verify import compare, expected_row
from passerelle.platform.sdk_shortcuts import divergence
from schemas import EventKind, HistoryEntry, Outcome, Stage

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def recorded(
    seq: int, kind: EventKind, days: float, stage: Stage = Stage.INTRODUCTION, **fields: object
) -> RecordedEntry:
    """Return an entry as the history would hold it."""
    entry = HistoryEntry.model_validate(
        {"seq": seq, "kind": kind, "at": T0 + timedelta(days=days), "stage": stage, "actor": "ops", **fields}
    )
    return RecordedEntry(entry, "collab-x", "run-1", 1, 10 + seq)


HISTORY = [
    recorded(1, EventKind.STARTED, 0),
    recorded(2, EventKind.STAGE_CHANGED, 1, to_stage=Stage.QUALIFICATION),
    recorded(3, EventKind.MILESTONE, 2, Stage.QUALIFICATION, milestone="NDA signed"),
    recorded(4, EventKind.CLOSED, 3, Stage.QUALIFICATION, outcome=Outcome.DECLINED),
]


def rows() -> list[dict[str, object]]:
    """Return the rows Postgres should hold for HISTORY."""
    return [{"seq": r.entry.seq, **expected_row(r)} for r in HISTORY]


def test_matching_rows_show_no_difference() -> None:
    """The rows the history implies are accepted as they are."""
    assert compare(HISTORY, rows()) == []


def test_two_rows_under_one_seq_are_a_duplicate() -> None:
    """Without the primary key, a second row with the same seq is reported."""
    table = rows()
    table.insert(2, dict(table[1]))
    assert [(d.problem, d.seq) for d in compare(HISTORY, table)] == [("duplicate", 2)]


def test_swapped_rows_are_reported_out_of_order() -> None:
    """Rows holding each other's events are out of order, not merely different."""
    table = rows()
    for field in ("kind", "stage", "to_stage", "milestone", "occurred_at"):
        table[1][field], table[2][field] = table[2][field], table[1][field]
    diffs = compare(HISTORY, table)
    assert [(d.problem, d.seq) for d in diffs] == [("order", 2), ("order", 3)]
    assert "holds the event of seq 3" in diffs[0].detail


def test_a_shifted_timestamp_names_the_field() -> None:
    """One microsecond off is a mismatch on occurred_at, with both values."""
    table = rows()
    table[2]["occurred_at"] += timedelta(microseconds=1)
    (diff,) = compare(HISTORY, table)
    assert (diff.problem, diff.seq) == ("mismatch", 3) and diff.detail.startswith("occurred_at: history")


def test_unknown_row_and_history_gap_are_reported() -> None:
    """A row nobody recorded is extra; a seq the history skips is flagged on the history side."""
    table = [*rows(), {**rows()[0], "seq": 9, "note": "forged"}]
    diffs = compare([*HISTORY[:2], *HISTORY[3:]], table)
    assert [(d.problem, d.seq) for d in diffs] == [("history", None), ("extra", 3), ("extra", 9)]


def test_stage_times_count_visits_and_paused_time() -> None:
    """Time runs per stage until the outcome; a pause spanning a stage change is split."""
    history = [
        recorded(1, EventKind.STARTED, 0),
        recorded(2, EventKind.PAUSED, 1),
        recorded(3, EventKind.STAGE_CHANGED, 2, to_stage=Stage.QUALIFICATION),
        recorded(4, EventKind.RESUMED, 2.5, Stage.QUALIFICATION),
        recorded(5, EventKind.CLOSED, 4, Stage.QUALIFICATION, outcome=Outcome.ABANDONED),
    ]
    times = {t.stage: t for t in stage_times(history, until=T0 + timedelta(days=30))}
    assert (times[Stage.INTRODUCTION].total, times[Stage.INTRODUCTION].paused) == (
        timedelta(days=2),
        timedelta(days=1),
    )
    assert (times[Stage.QUALIFICATION].total, times[Stage.QUALIFICATION].paused) == (
        timedelta(days=2),
        timedelta(days=0.5),
    )
    assert human(timedelta(days=2, hours=3, minutes=5)) == "2d 03h 05m"


def test_row_of_a_record_still_running_is_not_missing() -> None:
    """An entry whose record activity has not completed may lack its row: not a difference."""
    running = [*HISTORY[:3], replace(HISTORY[3], completed=False)]
    assert compare(running, rows()[:3]) == []
    assert [(d.problem, d.seq) for d in compare(HISTORY, rows()[:3])] == [("missing", 4)]


def test_diverging_event_is_read_from_either_core_message() -> None:
    """Both of Core's phrasings name the event; its type comes from the history."""
    history = History(events=[HistoryEvent(event_id=7, event_type=EventType.EVENT_TYPE_TIMER_STARTED)])
    for message in ("No command scheduled for event HistoryEvent(id: 7, TimerStarted)", "x, event id: 7"):
        error, event_id = divergence(NondeterminismError(message))
        assert (error, event_id, _event_type(history, event_id)) == (message, 7, "TIMER_STARTED")
    assert divergence(NondeterminismError("[TMPRL1100] something else")) == (
        "[TMPRL1100] something else",
        None,
    )
    assert _event_type(history, None) is None and _event_type(history, 8) is None
