"""Imported collaborations on the time-skipping server: started at their stage, dated, idempotent,
and then steered and chased like any other."""

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.intake.rows import COLUMNS, parse_csv
from passerelle.intake.starts import start_imports
from schemas import CollaborationStatus, EventKind, Outcome, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.workflows.helpers import abandon
from workflows.collaboration import CollaborationWorkflow

DAY = timedelta(days=1)


def midnight(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spreadsheet(tag: str) -> str:
    """Three good rows (pilot open, introduction open, closed as declined) and one bad e-mail."""
    common = f"Programme {tag},Pilot topic,health,ops@programme.example,fr"
    lines = [
        ",".join(COLUMNS),
        f"Natixis {tag},i@natixis.example,Nabla,p@nabla.example,,{common},pilot,2025-01-06,2025-02-03,2025-03-03,,,,",
        f"Natixis {tag},i@natixis.example,Alan,p@alan.example,,{common},introduction,2025-05-05,,,,,,",
        f"Orange {tag},i@orange.example,Qarnot,p@qarnot.example,,{common},evaluation,2024-10-01,2024-11-04,"
        "2024-12-02,2025-03-10,,declined,2025-04-01",
        f"Orange {tag},i@orange.example,Alan,nobody,,{common},introduction,2025-05-05,,,,,,",
    ]
    return "\n".join(lines) + "\n"


async def status_of(env: WorkflowEnvironment, workflow_id: str) -> CollaborationStatus:
    return await env.client.get_workflow_handle(workflow_id).query(CollaborationWorkflow.status)


async def test_import_starts_rows_at_their_stage_once_and_they_carry_on(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """3 rows start, the bad one is named; a re-run starts none; then advance and reminders work."""
    tag = uuid.uuid4().hex[:8]
    rows, errors = parse_csv(spreadsheet(tag), "programme.csv", date(2025, 6, 1))
    client = time_env.client
    async with run_worker(client):
        first = await start_imports(client, rows, task_queue, pool=pool)
        pilot_id, intro_id, closed_id = (r.workflow_id for r in rows)
        closed = await client.get_workflow_handle(closed_id, result_type=CollaborationStatus).result()
        imported = await status_of(time_env, pilot_id)
        again_by_db = await start_imports(client, rows, task_queue, pool=pool)
        again_by_temporal = await start_imports(client, rows, task_queue)  # REJECT_DUPLICATE alone
        await client.get_workflow_handle(pilot_id).execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.EVALUATION, by="ops")
        )
        await time_env.sleep(31 * DAY)  # evaluation allows 30 days, introduction 14
        pilot_later, intro_later = await status_of(time_env, pilot_id), await status_of(time_env, intro_id)
        for wid in (pilot_id, intro_id):
            await abandon(client.get_workflow_handle(wid))

    assert [str(e) for e in errors] == ['programme.csv, row 5, column "startup_email": value is not a valid email address: '
                                        "An email address must have an @-sign."]  # fmt: skip
    assert (sorted(first.started), first.skipped) == (sorted([pilot_id, intro_id, closed_id]), [])
    assert (again_by_db.started, sorted(again_by_db.skipped)) == ([], sorted(first.started))
    assert (again_by_temporal.started, sorted(again_by_temporal.skipped)) == ([], sorted(first.started))

    assert (imported.stage, imported.stage_since) == (Stage.PILOT, midnight("2025-03-03"))
    assert [(e.kind, e.stage, e.effective_at) for e in imported.history] == [
        (EventKind.STARTED, Stage.PILOT, None),
        (EventKind.IMPORTED, Stage.INTRODUCTION, midnight("2025-01-06")),
        (EventKind.IMPORTED, Stage.QUALIFICATION, midnight("2025-02-03")),
        (EventKind.IMPORTED, Stage.PILOT, midnight("2025-03-03")),
    ]
    assert (closed.stage, closed.outcome, closed.closed_at) == (
        Stage.EVALUATION, Outcome.DECLINED, midnight("2025-04-01"),
    )  # fmt: skip
    assert (pilot_later.stage, pilot_later.reminders_sent, pilot_later.stalled) == (Stage.EVALUATION, 1, True)
    assert (intro_later.reminders_sent, intro_later.escalations) == (2, 1)  # days 14 and 28

    entries = await pool.fetch(
        "SELECT e.stage, e.entered_at FROM kpi_stage_entries e JOIN collaborations c USING (collaboration_id)"
        " WHERE c.workflow_id = $1 ORDER BY e.entered_at",
        pilot_id,
    )
    assert [r["stage"] for r in entries] == ["introduction", "qualification", "pilot", "evaluation"]
    assert entries[0]["entered_at"] == midnight("2025-01-06")
    sent = await pool.fetch(
        "SELECT event FROM notifications WHERE workflow_id = $1 ORDER BY created_at", pilot_id
    )
    assert [r["event"] for r in sent] == ["started", "stage_changed", "reminder", "closed"]  # no past events
    closures = await pool.fetch(
        "SELECT k.outcome, k.closed_at FROM kpi_closures k JOIN collaborations c USING (collaboration_id)"
        " WHERE c.workflow_id = $1",
        closed_id,
    )
    assert [tuple(r) for r in closures] == [("declined", midnight("2025-04-01"))]
    told = await pool.fetchval("SELECT count(*) FROM notifications WHERE workflow_id = $1", closed_id)
    assert told == 0, "a collaboration imported as already closed notifies nobody"
