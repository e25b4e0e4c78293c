"""Two talkative years on the time-skipping server: every payload within budget, nothing lost.

500 milestones with 4,000-character notes, every other text field at its maximum length too,
stage moves back and forth, pauses, snoozes, reminders and escalations over two years. Every
payload of every run's history stays under the budget, every run's history under Temporal's
warning size, every event reaches PostgreSQL exactly once, and the auditors' commands pass on the
whole chain.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from passerelle.audit.histories import fetch_chain
from schemas import (
    CollaborationRequest,
    EventKind,
    HistoryEntry,
    MilestoneRequest,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    Stage,
    StageChange,
)
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.e2e.cli import eventually
from tests.factories import request_data
from tests.payloads import BUDGET, HISTORY_WARNING, largest_payload
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.recent import NOTE_PREVIEW, RECENT_ENTRIES
from workflows.domain.state import CollaborationState

DAY = timedelta(days=1)
MILESTONES = 500
BLOCK = 20  # milestones between two silent spells: 25 spells of 29 days, two years
# Every field at its maximum, in characters of 2 to 4 bytes, quotes included (JSON escapes them).
NOTE = ("Comité de pilotage — « budget », données, prochaines étapes 🙂 " * 70)[:4000]
NAME = ("Société Générale — Œuvre « Ünïcode » " * 10)[:200]
ACTOR = ("opératrice.programme@example — é " * 10)[:200]
KIND = ("jalon « comité » n° " * 5)[:80]
URL = "https://docs.example/" + "a" * 2000


async def test_two_talkative_years_stay_within_the_payload_budget(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
    postgres_url: str,
) -> None:
    client = time_env.client
    party = {"name": NAME, "label": "Next40"}
    async with run_worker(client):
        await start(
            client,
            workflow_id,
            task_queue,
            corporate={**party, "contact_email": "innovation@natixis.example"},
            startup={**party, "contact_email": "partners@nabla.example"},
            programme=NAME,
            topic=NAME,
            tags=[NAME[:50]] * 20,
            link=URL,
            stall_after_days={"pilot": 3, "evaluation": 3},
        )
        latest = client.get_workflow_handle(workflow_id)
        for stage in (Stage.QUALIFICATION, Stage.PILOT):
            await latest.execute_update(
                CollaborationWorkflow.advance, StageChange(to=stage, by=ACTOR, note=NOTE)
            )
        largest_answer = 0
        for i in range(MILESTONES):
            milestone = MilestoneRequest(kind=KIND, by=ACTOR, note=NOTE, evidence_url=URL)  # type: ignore[arg-type]
            await latest.execute_update(CollaborationWorkflow.record_milestone, milestone)
            if i % BLOCK == BLOCK - 1:
                block = i // BLOCK
                to = Stage.EVALUATION if block % 2 == 0 else Stage.PILOT  # back and forth
                await latest.execute_update(
                    CollaborationWorkflow.advance, StageChange(to=to, by=ACTOR, note=NOTE)
                )
                if block % 4 == 1:
                    await latest.execute_update(
                        CollaborationWorkflow.pause, PauseRequest(by=ACTOR, reason=NOTE)
                    )
                    await latest.execute_update(CollaborationWorkflow.resume, ResumeRequest(by=ACTOR))
                if block % 4 == 2:
                    await latest.execute_update(
                        CollaborationWorkflow.snooze_reminders, SnoozeRequest(by=ACTOR, days=1)
                    )
                await time_env.sleep(29 * DAY)  # silence: reminders at 3, 6 (escalation), 12 and 24 days
                raw = await latest.query("status", result_type=RawValue)
                largest_answer = max(largest_answer, raw.payload.ByteSize())
        try:
            status = await latest.query(CollaborationWorkflow.status)
        except Exception as err:
            print("DBGQ", repr(err), repr(getattr(err, "cause", None)), getattr(err, "__cause__", None))
            h = await latest.describe()
            print("DBGD", h.run_id, h.workflow_type, h.status)
            raise
        await abandon(latest)
        runs = await fetch_chain(client, workflow_id)

    assert status.entries > MILESTONES and len(status.history) <= RECENT_ENTRIES
    assert all(len(e.note) <= NOTE_PREVIEW for e in status.history)
    size, where = largest_payload(runs)
    print(f"{len(runs)} runs; largest payload {size} B at {where}; largest status answer {largest_answer} B")
    assert size <= BUDGET, where
    assert largest_answer <= BUDGET
    assert max(sum(e.ByteSize() for e in run.events) for run in runs) < HISTORY_WARNING

    rows = await pool.fetch(
        "SELECT seq, kind FROM milestones WHERE collaboration_id = $1 ORDER BY seq", runs[0].run_id
    )
    assert [r["seq"] for r in rows] == list(range(1, status.entries + 2))  # + the closing entry
    kinds = [r["kind"] for r in rows]
    assert kinds.count(EventKind.MILESTONE.value) == MILESTONES
    assert kinds.count(EventKind.REMINDER.value) >= 3 * (MILESTONES // BLOCK)
    assert kinds.count(EventKind.ESCALATION.value) == 2  # once per stage: pilot and evaluation

    verified = passerelle(client, "audit", "verify", workflow_id, database_url=postgres_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    replayed = passerelle(client, "audit", "replay", workflow_id)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"passed {len(runs)}" in replayed.stdout, replayed.stdout


@workflow.defn(name="LegacyCollaborationRun")
class LegacyRun:
    """A run of an earlier release, reduced to its end: it continues-as-new into today's
    `CollaborationWorkflow` with the state it carries (only a continue-as-new carries state)."""

    @workflow.run
    async def run(self, request: Any, carried: Any, task_queue: str) -> None:
        workflow.continue_as_new(
            args=[request, carried], workflow="CollaborationWorkflow", task_queue=task_queue
        )


async def test_a_run_started_with_a_carried_state_is_refused(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A client that starts a run with a state of its own making (a pending approval someone else
    "requested", a stage it never reached) gets a failed run, not a collaboration."""
    request = request_data()
    state = CollaborationState.begin(
        CollaborationRequest.model_validate(request), workflow_id, "x", datetime.now(UTC)
    )
    async with run_worker(time_env.client):
        handle = await time_env.client.start_workflow(
            "CollaborationWorkflow",
            args=[request, state.model_dump(mode="json")],
            id=workflow_id,
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidCollaborationRequest"
    assert "carried: only a continue-as-new carries state" in str(cause)


async def test_a_collaboration_carried_from_before_the_bound_moves_to_the_small_state(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
) -> None:
    """A run that received an old, unbounded state (300 entries with 3,000-character notes, as
    continue-as-new carried it before the bound) keeps only the latest entries from its first
    task: its status and update answers are small, and so is its own continue-as-new input."""
    now = datetime.now(UTC)
    request = request_data(continue_as_new_after_events=20)
    state = CollaborationState.begin(
        CollaborationRequest.model_validate(request), workflow_id, "legacy-1", now
    )
    state.history = [
        HistoryEntry(
            seq=i, kind=EventKind.MILESTONE, at=now, stage=Stage.INTRODUCTION, actor="ops", note="n" * 3000
        )
        for i in range(1, 301)
    ]
    state.seq = 300
    state.paused, state.next_reminder_at = True, None  # its clock is the wall's; the server's is years on
    client = dev_env.client
    legacy = Worker(
        client,
        task_queue=f"{task_queue}-legacy",
        workflows=[LegacyRun],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with run_worker(client), legacy:
        await client.start_workflow(
            "LegacyCollaborationRun",
            args=[request, state.model_dump(mode="json"), task_queue],
            id=workflow_id,
            task_queue=f"{task_queue}-legacy",
        )
        latest = client.get_workflow_handle_for(CollaborationWorkflow.run, workflow_id)

        async def continued() -> None:
            assert (await latest.describe()).workflow_type == "CollaborationWorkflow"

        await eventually(continued)
        status = await latest.query(CollaborationWorkflow.status)
        answer = await latest.execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind="k", by="o")
        )
        for i in range(6):  # enough events for the next continue-as-new
            await latest.execute_update(
                CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"k{i}", by="o")
            )
        await abandon(latest)
        runs = await fetch_chain(client, workflow_id)
    assert len(status.history) <= RECENT_ENTRIES and status.history[-1].seq == 300
    assert all(len(e.note) <= NOTE_PREVIEW for e in status.history)
    assert (answer.history, answer.entries) == ([], 301)
    assert len(runs) > 2
    # The legacy run and the first run it continued into carry the old state; the next ones do not.
    first_size, _ = largest_payload(runs[:2])
    later_size, where = largest_payload(runs[2:])
    assert first_size > 900_000 and later_size < 30_000, (first_size, later_size, where)
