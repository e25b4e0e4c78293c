"""Real lifecycles the golden histories are recorded from, on the time-skipping server.

Each scenario starts a collaboration, drives it to its outcome through the real updates, lets it
finish, and returns its workflow id. `test_golden.py` records them (on demand) and replays the
recorded files on every CI run; the audit tests reuse them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from temporalio.client import Client
from temporalio.common import RawValue

from schemas import (
    Closure,
    DigestRequest,
    MilestoneRequest,
    Outcome,
    PauseRequest,
    ResumeRequest,
    SnoozeRequest,
    Stage,
    StageChange,
)
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow
from workflows.digest import DigestWorkflow

OPS = "ops@programme.example"


class Environment(Protocol):
    """What a scenario uses of a test server: its client, and skipping time."""

    @property
    def client(self) -> Client: ...

    async def sleep(self, duration: timedelta | float) -> None: ...


@dataclass(frozen=True)
class ClientEnvironment:
    """A server's `sleep` with another client of it (the golden recorder's clear one)."""

    client: Client
    sleep: Callable[[timedelta | float], Awaitable[None]]


Scenario = Callable[[Environment, str, str], Awaitable[str]]


async def full_lifecycle(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Every stage with a milestone in each, a pilot re-run, then deployed."""
    handle = await start(env.client, workflow_id, task_queue)
    path = [
        Stage.QUALIFICATION,
        Stage.PILOT,
        Stage.EVALUATION,
        Stage.PILOT,
        Stage.EVALUATION,
        Stage.DEPLOYMENT,
    ]
    for stage in path:
        await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by=OPS, note="ok"))
        await handle.execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind=f"{stage.value} review", by=OPS, evidence_url="https://docs.example/r"),
        )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DEPLOYED, by=OPS, reason="in production")
    )
    await handle.result()
    return workflow_id


async def declined(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Qualification, pilot, then declined for lack of budget."""
    handle = await start(env.client, workflow_id, task_queue)
    for stage in (Stage.QUALIFICATION, Stage.PILOT):
        await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by=OPS))
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=OPS, reason="no budget")
    )
    await handle.result()
    return workflow_id


async def stalled_with_reminders(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Silence in introduction: two reminders and an escalation; pause, resume, snooze; abandoned."""
    handle = await start(env.client, workflow_id, task_queue, stall_after_days={"introduction": 1})
    await env.sleep(timedelta(days=2.5))
    await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by=OPS, reason="summer break"))
    await env.sleep(timedelta(days=3))
    await handle.execute_update(CollaborationWorkflow.resume, ResumeRequest(by=OPS))
    await handle.execute_update(CollaborationWorkflow.snooze_reminders, SnoozeRequest(by=OPS, days=2))
    await env.sleep(timedelta(days=2.5))
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by=OPS, reason="no answer")
    )
    await handle.result()
    return workflow_id


async def continue_as_new(env: Environment, workflow_id: str, task_queue: str) -> str:
    """A small history limit forces continue-as-new while reminders fire and milestones land."""
    await start(
        env.client,
        workflow_id,
        task_queue,
        continue_as_new_after_events=20,
        stall_after_days={"qualification": 1},
    )
    latest = env.client.get_workflow_handle(workflow_id)  # follows the chain of runs
    await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by=OPS))
    await env.sleep(timedelta(days=2.5))  # two reminders and an escalation
    await latest.execute_update(CollaborationWorkflow.pause, PauseRequest(by=OPS, reason="audit"))
    await latest.execute_update(CollaborationWorkflow.resume, ResumeRequest(by=OPS))
    for i in range(4):
        await latest.execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"m{i}", by=OPS)
        )
    await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=Stage.PILOT, by=OPS))
    await latest.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by=OPS, reason="over")
    )
    await latest.result()
    return workflow_id


async def talkative(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Long steering-committee notes over several runs, a silent spell with reminders, then declined.

    The workflow keeps the last entries only; this scenario is the one whose history carries a
    large state across continue-as-new when recorded before that bound existed.
    """
    minutes = "Steering committee minutes: " + "budget, scope, data access, next steps. " * 70
    await start(
        env.client,
        workflow_id,
        task_queue,
        continue_as_new_after_events=60,
        stall_after_days={"pilot": 2},
    )
    latest = env.client.get_workflow_handle(workflow_id)
    for stage in (Stage.QUALIFICATION, Stage.PILOT):
        await latest.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by=OPS))
    for i in range(24):
        await latest.execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind=f"committee {i + 1}", by=OPS, note=minutes),
        )
    await env.sleep(timedelta(days=13))  # reminders go unanswered, escalate, and keep coming
    await latest.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=OPS, reason="no budget")
    )
    await latest.result()
    return workflow_id


async def digest(env: Environment, workflow_id: str, task_queue: str) -> str:
    """The daily digest of a programme with one stalled collaboration, which is then abandoned."""
    programme = f"Digest {workflow_id}"
    handle = await start(
        env.client,
        f"{workflow_id}-stalled",
        task_queue,
        programme=programme,
        stall_after_days={"introduction": 1},
    )
    await env.sleep(timedelta(days=1.5))  # one reminder: stalled
    sent = await env.client.execute_workflow(
        DigestWorkflow.run,
        DigestRequest(recipients=[OPS], programme=programme),
        id=workflow_id,
        task_queue=task_queue,
    )
    assert [s.workflow_id for s in sent.stalled] == [f"{workflow_id}-stalled"]
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by=OPS, reason="no answer")
    )
    await handle.result()
    return workflow_id


async def partner_answers(env: Environment, workflow_id: str, task_queue: str) -> str:
    """A stalled collaboration hears from its partners through the portal's four answers; the
    operator confirms the withdrawal as declined."""
    handle = await start(env.client, workflow_id, task_queue, stall_after_days={"introduction": 1})
    await env.sleep(timedelta(days=1.5))  # one reminder, seq 2
    answers = [
        {"party": "startup", "action": "on_it", "note": "Contract with legal"},
        {"party": "corporate", "action": "need_help", "note": "Who signs on our side?"},
        {"party": "startup", "action": "pause", "days": 3},
    ]
    for n, answer in enumerate(answers):
        await handle.execute_update(
            CollaborationWorkflow.partner_answer, {**answer, "answered_seq": 2, "link": f"{n}" * 32}
        )
    await env.sleep(timedelta(days=5))  # the pause, then the next reminder
    await handle.execute_update(
        CollaborationWorkflow.partner_answer,
        {
            "party": "startup",
            "action": "stopped",
            "note": "Funding lost",
            "answered_seq": 2,
            "link": "9" * 32,
        },
    )
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=OPS, reason="the start-up stopped")
    )
    await handle.result()
    return workflow_id


async def planned_steps(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Planned steps and a decision date: a meeting planned, moved and held; a demo the start-up
    postpones through the portal, then missed; a document cancelled; a decision date that passes
    and is chased; the collaboration closes deployed."""
    handle = await start(env.client, workflow_id, task_queue)
    begun = await handle.query(CollaborationWorkflow.status)
    day = timedelta(days=1)

    def at(days: float) -> str:
        return (begun.stage_since + days * day).isoformat()

    await handle.execute_update(
        "plan_step", {"kind": "meeting", "at": at(3), "where": "Station F", "by": OPS}
    )
    await handle.execute_update("reschedule_step", {"step": "s1", "at": at(5), "by": OPS, "note": "moved"})
    await handle.execute_update("plan_step", {"kind": "demo", "at": at(10), "minutes": 30, "by": OPS})
    await handle.execute_update("plan_step", {"kind": "document", "at": at(12), "by": OPS})
    await handle.execute_update("set_decision_date", {"on": at(20)[:10], "by": OPS})
    await env.sleep(6 * day)
    await handle.execute_update("step_held", {"step": "s1", "by": OPS, "note": "good first meeting"})
    await handle.execute_update(
        CollaborationWorkflow.partner_answer,
        {
            "party": "startup",
            "action": "postponed",
            "step": "s2",
            "at": at(14),
            "answered_seq": 3,
            "link": "a" * 32,
        },
    )
    await handle.execute_update("cancel_step", {"step": "s3", "by": OPS, "note": "not needed"})
    await env.sleep(30 * day)  # the demo is missed, the decision date passes
    await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by=OPS))
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=OPS, reason="no go")
    )
    await handle.result()
    return workflow_id


# The verified-actors scenario: a programme whose qualification needs a second person's approval,
# and two people an OpenID provider (a made-up, test-only one) vouched for through the codec server.
VERIFIED_PROGRAMME = "Golden Verified"
VERIFIED_ISSUER = "https://oidc.test-only.example"
ANNE = "anne@golden-verified.example"  # operator and approver
CLAIRE = "claire@golden-verified.example"  # approver

# `sealed(data, subject)`: `data` as the codec server sends it on, with a statement for `subject`.
Voucher = Callable[[dict[str, Any], str], Awaitable[RawValue]]


async def verified_actors(env: Environment, workflow_id: str, task_queue: str, sealed: Voucher) -> str:
    """Verified actors: a milestone, an approval request and its approval by another person, each
    sent with a signed statement; a declared advance (no statement) and a declared close.

    Not in SCENARIOS: it needs a playbook (applied by its recorder) and a voucher, and its golden
    carries the public vouching key it needs (`histories/verified-actors`, test_verified_golden.py).
    """
    handle = await start(env.client, workflow_id, task_queue, programme=VERIFIED_PROGRAMME)
    await handle.execute_update("record_milestone", await sealed({"kind": "NDA signed"}, "anne"))
    await handle.execute_update("request_approval", await sealed({"for": "qualification"}, "anne"))
    await handle.execute_update("approve", await sealed({"note": "fine by me"}, "claire"))
    await handle.execute_update(CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by=OPS))
    await handle.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=OPS, reason="no budget")
    )
    await handle.result()
    return workflow_id


SCENARIOS: dict[str, Scenario] = {
    "full-lifecycle": full_lifecycle,
    "declined": declined,
    "stalled-with-reminders": stalled_with_reminders,
    "continue-as-new": continue_as_new,
    "talkative": talkative,
    "digest": digest,
    "partner-answers": partner_answers,
    "planned-steps": planned_steps,
}
