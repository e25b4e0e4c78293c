"""Cross-check a collaboration's Temporal history against its Postgres milestone rows.

The history's entries (the `record_events` inputs, see `entries.py`) are the reference: each must
be in `milestones` exactly once, under the same `seq`, with the same fields and the same
`occurred_at` (the workflow's time). Every difference is reported on its own line: a missing row,
an extra row (named a duplicate when it copies another event), a field that differs, a row out of
order, and any gap or repeat in the history's own numbering. An entry whose record activity has
not completed yet (a live collaboration, a database outage being waited out) may lack its row.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from activities.milestones import milestone_row
from passerelle.audit.entries import ErasedRecord, RecordedEntry
from schemas.addresses import ADDRESS, PSEUDONYM, map_strings, strings_in

SELECT_ROWS = """
SELECT seq, workflow_id, run_id, kind, stage, to_stage, outcome, milestone, actor, note,
    evidence_url, reminder_number, occurred_at, details
FROM milestones WHERE collaboration_id = $1 ORDER BY seq, recorded_at
"""
CONTENT = ("kind", "stage", "to_stage", "outcome", "milestone", "actor", "note", "evidence_url",
           "reminder_number", "occurred_at", "details")  # fmt: skip
FIELDS = ("workflow_id", "run_id", *CONTENT)


@dataclass(frozen=True)
class Difference:
    """One way the database disagrees with the history."""

    problem: str  # missing, duplicate, extra, mismatch, order, history
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "history"
        return f"{self.problem:<9} {where}: {self.detail}"


def expected_row(recorded: RecordedEntry) -> dict[str, Any]:
    """Return the milestone row the history says was written for an entry."""
    return {
        "workflow_id": recorded.workflow_id,
        "run_id": recorded.run_id,
        **milestone_row(recorded.entry),
    }


def _content(row: dict[str, Any]) -> tuple[Any, ...]:
    # `details` is a JSON object: compared by its canonical text, so that the tuple is hashable.
    return tuple(json.dumps(row[f], sort_keys=True) if f == "details" else row[f] for f in CONTENT)


def _describe(row: dict[str, Any]) -> str:
    return f"{row['kind']} at {row['occurred_at'].isoformat()} by {row['actor']}"


def compare(
    history: Sequence[RecordedEntry], rows: Sequence[dict[str, Any]], erased: Sequence[ErasedRecord] = ()
) -> list[Difference]:
    """Return every difference between the history's entries and the rows, by seq.

    Rows of erased runs are checked by `compare_erased`; the numbering check spans both.
    """
    diffs, accounted = compare_erased(erased, rows) if erased else ([], set())
    rows = [row for row in rows if row["seq"] not in accounted]
    expected: dict[int, dict[str, Any]] = {}
    pending = {recorded.entry.seq: not recorded.completed for recorded in history}
    for recorded in history:
        seq = recorded.entry.seq
        if seq in expected:
            diffs.append(Difference("history", seq, "the history schedules this seq twice"))
        expected[seq] = expected_row(recorded)
    numbered = set(expected) | accounted
    if numbered and sorted(numbered) != list(range(1, max(numbered) + 1)):
        gaps = sorted(set(range(1, max(numbered) + 1)) - numbered)
        diffs.append(Difference("history", None, f"seq numbers missing from the history: {gaps}"))
    by_content = {_content(row): seq for seq, row in expected.items()}
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row["seq"]].append(dict(row))
    for seq in sorted(set(expected) | set(found)):
        want, got = expected.get(seq), found.get(seq, [])
        for copy in got[1:]:
            diffs.append(Difference("duplicate", seq, f"{len(got)} rows hold this seq: {_describe(copy)}"))
        if want is None:
            row = got[0]
            twin = by_content.get(_content(row))
            if twin is not None:
                diffs.append(Difference("duplicate", seq, f"copy of seq {twin} ({_describe(row)})"))
            else:
                diffs.append(Difference("extra", seq, f"not in the history: {_describe(row)}"))
            continue
        if not got:
            if pending.get(seq):
                continue  # its record activity is still running: the row may not be written yet
            diffs.append(Difference("missing", seq, f"no row for {_describe(want)}"))
            continue
        row = got[0]
        twin = by_content.get(_content(row))
        if twin is not None and twin != seq:
            diffs.append(
                Difference("order", seq, f"the row holds the event of seq {twin} ({_describe(row)})")
            )
            continue
        for field in FIELDS:
            if row[field] != want[field] and not _pseudonymised(want[field], row[field]):
                diffs.append(
                    Difference("mismatch", seq, f"{field}: history {want[field]!r}, database {row[field]!r}")
                )
    return diffs


def _pseudonymised(want: Any, got: Any) -> bool:
    """Return True when the row differs from the history only by addresses an erasure replaced."""
    if not any("erased:" in s for s in strings_in(got)):
        return False

    def masked(value: Any) -> Any:  # string by string: JSON text would glue `\n` to an address
        return map_strings(value, lambda s: PSEUDONYM.sub("<person>", ADDRESS.sub("<person>", s)))

    return bool(masked(got) == masked(want))


def compare_erased(
    erased: Sequence[ErasedRecord], rows: Sequence[dict[str, Any]]
) -> tuple[list[Difference], set[int]]:
    """Check the rows of erased runs against what their histories' metadata still say.

    Per erased run: every row lies within the run's time span; there are at least as many rows
    as completed `record_events` calls (each records one entry or more); the stages the rows
    go through (the first row's stage, then each stage change's `to_stage`) are the stages the
    run's search attributes went through, and a closed row carries the outcome they set. Return
    the differences and the seqs of the rows accounted for.
    """
    diffs: list[Difference] = []
    by_run: dict[str, list[ErasedRecord]] = defaultdict(list)
    for record in erased:
        by_run[record.run_id].append(record)
    accounted: set[int] = set()
    for run_id, calls in by_run.items():
        mine = sorted((r for r in rows if r["run_id"] == run_id), key=lambda r: r["seq"])
        accounted |= {r["seq"] for r in mine}
        first = calls[0]
        for row in mine:
            if not first.run_started_at <= row["occurred_at"] <= (first.run_ended_at or row["occurred_at"]):
                diffs.append(Difference("mismatch", row["seq"], f"occurred_at outside erased run {run_id}"))
        completed = sum(c.completed for c in calls)
        if len(mine) < completed:
            diffs.append(
                Difference(
                    "missing", None, f"erased run {run_id}: {completed} records completed, {len(mine)} row(s)"
                )
            )
        walked = _dedupe(
            [mine[0]["stage"], *(r["to_stage"] for r in mine if r["kind"] == "stage_changed")] if mine else []
        )
        published = _dedupe([c.stage for c in calls if c.stage is not None])
        if published and walked and not _follows(published, walked):
            diffs.append(
                Difference(
                    "mismatch",
                    None,
                    f"erased run {run_id}: stages {walked} in the database, {published} in the history",
                )
            )
        outcomes = {c.outcome for c in calls if c.outcome}
        for row in mine:
            if row["kind"] == "closed" and row["outcome"] not in outcomes | {None} and outcomes:
                diffs.append(
                    Difference(
                        "mismatch",
                        row["seq"],
                        f"outcome: history {sorted(outcomes)}, database {row['outcome']!r}",
                    )
                )
    return diffs, accounted


def _dedupe(values: Sequence[Any]) -> list[Any]:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def _follows(published: list[str], walked: list[str]) -> bool:
    # A record call sees the stage in force when it was scheduled; the rows see every stage. The
    # stages the calls saw must appear in the rows' walk, in the same order.
    it = iter(walked)
    return all(stage in it for stage in published)


async def database_rows(
    conn: asyncpg.Connection | asyncpg.Pool, collaboration_id: str
) -> list[dict[str, Any]]:
    """Return the collaboration's milestone rows, by seq (`details` as a JSON object, whatever the
    connection's codecs)."""
    rows = [dict(r) for r in await conn.fetch(SELECT_ROWS, collaboration_id)]
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return rows
