"""Timeline and verify on a lifecycle with reminders, a pause and continue-as-new (time-skipping)."""

import csv
import io
from datetime import timedelta
from itertools import pairwise

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.entries import recorded_entries, run_marks
from passerelle.audit.histories import fetch_chain, first_run_id
from passerelle.audit.timeline import stage_times, story
from passerelle.audit.verify import compare, database_rows
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from schemas import Stage
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.replay.scenarios import continue_as_new

COPY_ROW = """
INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, to_stage, outcome,
    milestone, actor, note, evidence_url, reminder_number, occurred_at)
SELECT collaboration_id, $3, workflow_id, run_id, kind, stage, to_stage, outcome,
    milestone, actor, note, evidence_url, reminder_number, occurred_at
FROM milestones WHERE collaboration_id = $1 AND seq = $2
"""


async def test_timeline_and_verify_across_runs(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    postgres_url: str,
    task_queue: str,
    workflow_id: str,
    settings: Settings,
) -> None:
    """The story spans every run in order; Postgres agrees until a row is deleted or duplicated."""
    async with run_worker(time_env.client):
        await continue_as_new(time_env, workflow_id, task_queue)
    runs = await fetch_chain(time_env.client, workflow_id)
    entries, marks = await recorded_entries(runs, converter_for(settings)), run_marks(runs)
    collaboration_id = first_run_id(runs[0].history)
    assert len(runs) >= 2 and collaboration_id == runs[0].run_id
    assert [e.entry.seq for e in entries] == list(range(1, len(entries) + 1))
    assert {e.run_index for e in entries} != {1}, "later runs record events too"

    lines = story(entries, marks)
    events = [line.event for line in lines]
    recorded = [e for e in events if e != "continued as new"]
    # (a run may continue as new once more after the outcome, if the limit is reached as it closes)
    assert recorded[0] == "started" and recorded[-1] == "outcome: abandoned"
    assert events.count("continued as new") == len(runs) - 1
    assert ["reminder #1", "reminder #2", "escalation #2", "paused", "resumed"] == [
        e for e in events if e.startswith(("reminder", "escalation", "paused", "resumed"))
    ]
    # In time order, give or take the few ms between a run's close (a server timestamp) and the
    # next run's first workflow time, which the server may stamp a millisecond earlier.
    skew = timedelta(milliseconds=5)
    assert all(b.when >= a.when - skew for a, b in pairwise(lines))
    times = {t.stage: t for t in stage_times(entries, marks[-1].ended_at)}
    assert list(times) == [Stage.INTRODUCTION, Stage.QUALIFICATION, Stage.PILOT]
    assert timedelta(days=2.5) <= times[Stage.QUALIFICATION].total < timedelta(days=3)

    assert compare(entries, await database_rows(pool, collaboration_id)) == []
    ok = passerelle(time_env.client, "audit", "verify", workflow_id, database_url=postgres_url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(entries)} event(s), all in Postgres once" in ok.stdout

    last = len(entries)
    await pool.execute("DELETE FROM milestones WHERE collaboration_id = $1 AND seq = 3", collaboration_id)
    await pool.execute(COPY_ROW, collaboration_id, 2, last + 1)
    await pool.execute("UPDATE milestones SET note = 'edited' WHERE collaboration_id = $1 AND seq = 4",
                       collaboration_id)  # fmt: skip
    diffs = compare(entries, await database_rows(pool, collaboration_id))
    kind3 = entries[2].entry.kind.value
    assert [(d.problem, d.seq) for d in diffs] == [("missing", 3), ("mismatch", 4), ("duplicate", last + 1)]
    assert kind3 in diffs[0].detail
    assert diffs[1].detail == f"note: history {entries[3].entry.note!r}, database 'edited'"
    assert "copy of seq 2" in diffs[2].detail

    bad = passerelle(time_env.client, "audit", "verify", workflow_id, database_url=postgres_url)
    assert bad.returncode == 1
    assert f"missing   seq 3: no row for {kind3}" in bad.stdout
    assert f"duplicate seq {last + 1}: copy of seq 2" in bad.stdout
    assert "3 difference(s)" in bad.stdout

    shown = passerelle(time_env.client, "audit", "timeline", workflow_id, "--format", "csv")
    assert shown.returncode == 0, shown.stderr
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert [r["event"] for r in rows if r["seq"]] == recorded
    assert {r["stage"] for r in rows if r["event"] == "time_in_stage"} == {
        "introduction",
        "qualification",
        "pilot",
    }
    markdown = passerelle(time_env.client, "audit", "timeline", workflow_id, "--format", "md")
    assert "| outcome: abandoned |" in markdown.stdout and "## Time in each stage" in markdown.stdout
