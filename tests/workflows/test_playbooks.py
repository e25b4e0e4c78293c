"""Coalition Next's playbook, run whole on the time-skipping server with real activities and PostgreSQL.

Gates refuse and then accept moves, four eyes hold, scorecards replace each other, an approval left
pending reminds its approvers, a newer version is adopted, and the audit reads it all back from
the history, agrees with the rows and replays it. Each test applies the playbook under a programme name of its
own: playbooks belong to programmes, and the session's database is shared.
"""

import asyncio
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities import playbooks as store
from passerelle.audit.entries import recorded_entries
from passerelle.audit.histories import fetch_chain
from passerelle.audit.replay import replay_runs
from passerelle.audit.timeline import story
from passerelle.audit.verify import compare, database_rows
from passerelle.intake.playbooks import read
from passerelle.intake.rows import COLUMNS, parse_csv
from passerelle.intake.starts import start_imports
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from schemas import Closure, MilestoneRequest, Outcome, Stage, StageChange
from schemas.playbooks import Approval, ApprovalRequest, Playbook, PlaybookAdoption, Rejection, Scorecard
from tests.conftest import WorkerFactory
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow

EXAMPLE = Path(__file__).parents[2] / "passerelle" / "devstack" / "playbooks" / "coalition-next.toml"
APPROVER = "claire.martin@coalition-next.example"
SPONSOR = "innovation@natixis.example"  # the corporate contact of tests.factories
CARD = {"clinical value": 4, "integration effort": 3, "data protection": 4}


async def apply_example(pool: asyncpg.Pool, **changes: Any) -> Playbook:
    """Apply the Coalition Next example under a programme of this test's own; return it."""
    parsed = read(EXAMPLE)
    body = parsed.playbook.model_dump() | {"programme": f"Coalition Next {uuid.uuid4().hex[:8]}"} | changes
    playbook = Playbook.model_validate(body)
    await store.apply(pool, playbook, parsed.source, "test")
    return playbook


async def refused(handle: WorkflowHandle[Any, Any], update: Any, request: Any) -> tuple[str, str]:
    """Send an update that must be refused; return the refusal's type and message."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, request)
    cause = info.value.cause
    return getattr(cause, "type", ""), str(getattr(cause, "message", cause))


def asking(target: str, by: str = "anne@programme.example") -> ApprovalRequest:
    return ApprovalRequest.model_validate({"for": target, "by": by})


async def test_the_coalition_next_playbook_from_introduction_to_deployed(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
    settings: Settings,
) -> None:
    playbook = await apply_example(pool)
    name = f"{playbook.programme} v1"
    wf = CollaborationWorkflow
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, programme=playbook.programme)
        status = await handle.execute_update(wf.advance, StageChange(to=Stage.QUALIFICATION, by="ops"))
        assert status.playbook == name and [i.done for i in status.checklist] == [False, False]

        kind, message = await refused(handle, wf.advance, StageChange(to=Stage.PILOT, by="ops"))
        assert kind == "GateUnmet"
        assert message == (
            'cannot move to pilot: missing milestone "NDA signed", milestone "pilot success criteria" '
            f"(with evidence URL); playbook {name}"
        )
        await handle.execute_update(wf.record_milestone, MilestoneRequest(kind="NDA signed", by="ops"))
        url = "https://docs.example/criteria.pdf"
        criteria = MilestoneRequest(kind="pilot success criteria", by="ops", evidence_url=url)
        await handle.execute_update(wf.record_milestone, criteria)
        status = await handle.execute_update(wf.advance, StageChange(to=Stage.PILOT, by="ops"))
        assert [i.item for i in status.checklist] == ['milestone "pilot report"']

        await handle.execute_update(wf.record_milestone, MilestoneRequest(kind="pilot report", by="ops"))
        await handle.execute_update(wf.advance, StageChange(to=Stage.EVALUATION, by="ops"))

        # evaluation → deployment: two evaluators and four eyes
        kind, message = await refused(handle, wf.advance, StageChange(to=Stage.DEPLOYMENT, by="ops"))
        assert "missing passing scorecard (0 of 2 evaluators" in message and "approval" in message
        kind, _ = await refused(handle, wf.score, {"by": "eva", "scores": {"clinical value": 9}})
        assert kind == "InvalidRequest"
        await handle.execute_update(wf.score, Scorecard(by="eva", scores={**CARD, "clinical value": 1}))
        await handle.execute_update(wf.score, Scorecard(by="eva", scores=CARD))  # replaces hers
        status = await handle.execute_update(wf.score, Scorecard(by="bob", scores=CARD))
        assert "2 of 2 evaluators, weighted mean 3.71" in status.checklist[0].item
        assert status.checklist[0].done
        await handle.execute_update(wf.request_approval, asking("deployment"))
        kind, _ = await refused(handle, wf.request_approval, asking("deployment", "bob"))
        assert kind == "ApprovalPending"
        kind, message = await refused(handle, wf.approve, Approval(by="Anne@Programme.example"))
        assert kind == "SameApprover" and "four eyes" in message
        kind, _ = await refused(handle, wf.approve, Approval(by="mallory@elsewhere.example"))
        assert kind == "NotAnApprover"
        await handle.execute_update(wf.approve, Approval(by=APPROVER, note="scores are convincing"))
        await handle.execute_update(wf.advance, StageChange(to=Stage.DEPLOYMENT, by="ops"))

        # closing as deployed: the corporate sponsor approves; a rejection first
        closure = Closure(outcome=Outcome.DEPLOYED, by="ops", reason="in production")
        kind, message = await refused(handle, wf.close, closure)
        assert kind == "GateUnmet" and message.startswith("cannot close as deployed: missing approval")
        await handle.execute_update(wf.request_approval, asking("deployed"))
        await handle.execute_update(wf.reject, Rejection(by=SPONSOR, reason="wait for the audit"))
        await handle.execute_update(wf.request_approval, asking("deployed"))
        await handle.execute_update(wf.approve, Approval(by=SPONSOR))
        await handle.execute_update(wf.close, closure)
        result = await handle.result()
    assert result.outcome is Outcome.DEPLOYED

    runs = await fetch_chain(time_env.client, workflow_id)
    entries = await recorded_entries(runs, converter_for(settings))
    rows = await database_rows(pool, result.collaboration_id)
    assert compare(entries, rows) == [], "PostgreSQL holds every playbook row, details included"
    details = {r["kind"]: r["details"] for r in rows if r["details"]}
    assert (
        details["scored"]["scores"] == CARD
        and details["approved"]["requested_by"] == "anne@programme.example"
    )
    moved = [r["details"] for r in rows if r["kind"] in ("stage_changed", "closed") and r["details"]]
    assert [d["gate"] for d in moved] == ["pilot", "evaluation", "deployment", "deployed"]
    assert moved[0]["milestones"] == {"NDA signed": None, "pilot success criteria": url}
    outcomes = await replay_runs(runs, settings, jobs=1)  # the worker's sandbox, as `audit replay`
    assert all(o.passed for o in outcomes), [o.error for o in outcomes]
    lines = [line.detail for line in story(entries, [])]
    assert any(
        f"gate pilot passed ({name}); milestones: NDA signed, pilot success criteria <{url}>" in d
        for d in lines
    )
    assert any(d.startswith(f"{name}; playbook {playbook.programme} v1") for d in lines)
    assert any(
        "scores clinical value 4, integration effort 3, data protection 4, replaces" in d for d in lines
    )


async def test_a_pending_approval_reminds_its_approvers_and_a_new_version_is_adopted(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    playbook = await apply_example(pool)
    wf = CollaborationWorkflow
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, programme=playbook.programme)
        for stage, kinds in [
            (Stage.QUALIFICATION, []),
            (Stage.PILOT, ["NDA signed"]),
            (Stage.EVALUATION, ["pilot report"]),
        ]:
            for kind in kinds:
                await handle.execute_update(wf.record_milestone, MilestoneRequest(kind=kind, by="ops"))
            if stage is Stage.PILOT:
                url = "https://docs.example/c"
                evidence = MilestoneRequest(kind="pilot success criteria", by="ops", evidence_url=url)
                await handle.execute_update(wf.record_milestone, evidence)
            await handle.execute_update(wf.advance, StageChange(to=stage, by="ops"))
        await handle.execute_update(wf.request_approval, asking("deployment"))
        await time_env.sleep(timedelta(days=7))  # 3 days, then 3 more: two reminders
        rows = await pool.fetch(
            "SELECT event, recipients FROM notifications WHERE workflow_id = $1 AND event = 'approval_requested'",
            workflow_id,
        )
        assert len(rows) == 3, "the request and two reminders"
        assert {r["email"] for r in rows[0]["recipients"]} == {APPROVER, "operator@programme.example"}

        # v2 asks for one more milestone at the pilot gate, already passed: adopted, not re-gated
        body = playbook.model_dump()
        body["gates"]["pilot"]["milestones"].append({"kind": "ethics review", "evidence": False})
        await store.apply(pool, Playbook.model_validate(body), "v2", "test")
        status = await handle.query(wf.status)
        assert status.playbook == f"{playbook.programme} v1", "later edits do not change running ones"
        status = await handle.execute_update(wf.adopt_playbook, PlaybookAdoption(version=2, by="ops"))
        assert status.playbook == f"{playbook.programme} v2" and status.stage is Stage.EVALUATION
        kind, message = await refused(handle, wf.adopt_playbook, PlaybookAdoption(version=2, by="ops"))
        assert kind == "PlaybookConflict" and "adopt a newer version" in message
        kind, message = await refused(handle, wf.adopt_playbook, PlaybookAdoption(version=9, by="ops"))
        assert kind == "PlaybookConflict" and "has no playbook version 9" in message
        await abandon(handle)


async def test_a_programme_without_a_playbook_moves_as_before(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    wf = CollaborationWorkflow
    async with run_worker(time_env.client):
        handle = await start(
            time_env.client, workflow_id, task_queue, programme=f"No playbook {uuid.uuid4()}"
        )
        for stage in (Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT):
            status = await handle.execute_update(wf.advance, StageChange(to=stage, by="ops"))
        assert status.playbook is None and status.checklist == []
        kind, _ = await refused(handle, wf.request_approval, asking("deployed"))
        assert kind == "NoPlaybook"
        await handle.execute_update(wf.close, Closure(outcome=Outcome.DEPLOYED, by="ops", reason="live"))
        await handle.result()


async def test_an_imported_collaboration_runs_under_its_programmes_playbook(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: asyncpg.Pool, task_queue: str
) -> None:
    """Imported in pilot: the gates behind it count as passed, the next one holds."""
    playbook = await apply_example(pool)
    row = f"Sanofi,i@sanofi.example,Owkin,p@owkin.example,,{playbook.programme},Trials,health,o@p.example,fr"
    text = ",".join(COLUMNS) + f"\n{row},pilot,2025-01-06,2025-02-03,2025-03-03,,,,\n"
    rows, errors = parse_csv(text, "programme.csv", date(2025, 6, 1))
    assert errors == []
    async with run_worker(time_env.client):
        await start_imports(time_env.client, rows, task_queue, pool=pool)
        handle = time_env.client.get_workflow_handle(rows[0].workflow_id)
        for _ in range(50):  # the status answers at once; the playbook is read just after the start
            status = await handle.query(CollaborationWorkflow.status)
            if status.playbook is not None:
                break
            await asyncio.sleep(0.1)
        assert (status.stage, status.playbook) == (Stage.PILOT, f"{playbook.programme} v1")
        assert [i.item for i in status.checklist] == ['milestone "pilot report"']
        kind, _ = await refused(
            handle, CollaborationWorkflow.advance, StageChange(to=Stage.EVALUATION, by="ops")
        )
        assert kind == "GateUnmet"
        back = await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="x")
        )
        assert back.outcome is Outcome.DECLINED
        await handle.result()
