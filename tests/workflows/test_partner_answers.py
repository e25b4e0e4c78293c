"""A partner's one-click answers, as the portal sends them, on the time-skipping server.

Each answer is a `partner_update` row by `partner:<party>` with the contact and the link's id;
"we're on it" clears `stalled`, "we need help" tells the owner with the note, "pause" holds the
reminders, "we have stopped" proposes a withdrawal only the operator's `close` confirms. Refusals
(closed, already paused, a link used twice, a pause too long) change nothing.
"""

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.kpis import KpiActivities
from passerelle.platform.scope import RowScope
from passerelle.reads.partner_kpis import read_partner_kpis
from schemas import Closure, CollaborationStatus, EventKind, KpiFilters, Outcome, PauseRequest
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

DAY = timedelta(days=1)
ROWS = """
SELECT seq, kind, actor, note, details FROM milestones
WHERE workflow_id = $1 AND kind = 'partner_update' ORDER BY seq
"""
OWNER_MAIL = """
SELECT context->>'partner_action' AS action, context->>'note' AS note, recipients
FROM notifications WHERE workflow_id = $1 AND event = 'partner_answer'
ORDER BY split_part(idempotency_key, '/', 2)::int
"""


def answer(action: str, seq: int, link: str, party: str = "startup", **fields: Any) -> dict[str, Any]:
    return {"party": party, "action": action, "answered_seq": seq, "link": link * 32, **fields}


async def send(handle: WorkflowHandle[Any, Any], body: dict[str, Any]) -> CollaborationStatus:
    status: CollaborationStatus = await handle.execute_update(CollaborationWorkflow.partner_answer, body)
    return status


async def refused(handle: WorkflowHandle[Any, Any], body: dict[str, Any]) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await send(handle, body)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_a_stalled_collaboration_hears_from_its_partners(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    programme = f"Partners {uuid.uuid4()}"
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue, programme=programme)
        await time_env.sleep(15 * DAY)  # past the 14-day threshold: one reminder
        status = await handle.query(CollaborationWorkflow.status)
        assert status.stalled
        reminder = next(e for e in status.history if e.kind is EventKind.REMINDER)

        on_it = await send(handle, answer("on_it", reminder.seq, "a", note="Contract with legal"))
        assert not on_it.stalled
        assert on_it.next_reminder_at is not None and on_it.next_reminder_at > reminder.at + 14 * DAY
        assert [(a.party, a.action) for a in on_it.partner_answers] == [("startup", "on_it")]
        # The same link again: the workflow's own backstop refuses it.
        assert (await refused(handle, answer("on_it", reminder.seq, "a"))).type == "LinkUsed"

        helped = await send(handle, answer("need_help", reminder.seq, "b", party="corporate", note="Budget?"))
        assert {a.party for a in helped.partner_answers} == {"startup", "corporate"}

        too_long = await refused(handle, answer("pause", reminder.seq, "c", days=61))
        assert too_long.type == "InvalidRequest" and "days" in str(too_long)
        paused = await send(handle, answer("pause", reminder.seq, "c", days=30))
        assert paused.snoozed_until is not None and paused.next_reminder_at is not None
        assert paused.next_reminder_at >= paused.snoozed_until

        await time_env.sleep(20 * DAY)  # inside the pause: no reminder
        status = await handle.query(CollaborationWorkflow.status)
        assert [e.kind for e in status.history].count(EventKind.REMINDER) == 1

        stopped = await send(handle, answer("stopped", reminder.seq, "d", note="Project cancelled"))
        assert stopped.withdrawal is not None and stopped.withdrawal.party == "startup"
        assert stopped.next_reminder_at is None and stopped.outcome is None  # never closed by itself
        await time_env.sleep(90 * DAY)
        status = await handle.query(CollaborationWorkflow.status)
        assert status.outcome is None and [e.kind for e in status.history].count(EventKind.REMINDER) == 1

        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="partner stopped")
        )
        assert (await refused(handle, answer("on_it", reminder.seq, "e"))).type == "CollaborationClosed"
        await handle.result()

    async with pool.acquire() as conn:
        rows = await conn.fetch(ROWS, workflow_id)
        mails = await conn.fetch(OWNER_MAIL, workflow_id)
    assert [(r["actor"], r["details"]["action"]) for r in rows] == [
        ("partner:startup", "on_it"),
        ("partner:corporate", "need_help"),
        ("partner:startup", "pause"),
        ("partner:startup", "stopped"),
    ]
    assert rows[0]["details"]["contact"] == EXAMPLE["startup"]["contact_email"]
    assert rows[1]["details"]["contact"] == EXAMPLE["corporate"]["contact_email"]
    assert rows[0]["details"]["link"] == "a" * 32 and rows[0]["details"]["was_stalled"] is True
    assert rows[1]["details"]["was_stalled"] is False
    # "We're on it" tells nobody; the three others tell the owner, with the partner's note.
    assert [(m["action"], m["note"]) for m in mails] == [
        ("need_help", "Budget?"),
        ("pause", ""),
        ("stopped", "Project cancelled"),
    ]
    assert all([r["role"] for r in m["recipients"]] == ["owner"] for m in mails)

    # The report: the one reminder was answered, the first answer cleared its stall, and each
    # side answered a day after the e-mail (the start-up's median over 1, 1 and 21 days).
    kpis = await read_partner_kpis(pool, KpiFilters(programme=programme), RowScope(None))
    assert (kpis.reminders_sent, kpis.reminders_answered, kpis.answer_rate) == (1, 1, 1.0)
    assert kpis.stalls_resolved_by_partner == 1
    assert [(p.party, p.answers, round(p.median_hours_to_answer or 0)) for p in kpis.parties] == [
        ("corporate", 1, 24),
        ("startup", 3, 24),
    ]
    # The digest's lines, newest first, each naming who answered what.
    summary = await KpiActivities(pool).kpi_summary(programme)
    assert [line.split(" [")[0] for line in summary.partner_answers] == [
        "Nabla (startup) on Natixis × Nabla: stopped: Project cancelled",
        f"Nabla (startup) on Natixis × Nabla: pause until {paused.snoozed_until:%Y-%m-%d}",
        "Natixis (corporate) on Natixis × Nabla: need_help: Budget?",
        "Nabla (startup) on Natixis × Nabla: on_it: Contract with legal",
    ]


async def test_a_partner_cannot_pause_what_the_programme_paused(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    async with run_worker(time_env.client):
        handle = await start(time_env.client, workflow_id, task_queue)
        await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by="ops", reason="summer"))
        assert (await refused(handle, answer("pause", 1, "f", days=10))).type == "AlreadyPaused"
        kept = await send(handle, answer("on_it", 1, "f"))  # news is welcome, the pause stays
        assert kept.paused and kept.next_reminder_at is None
        for bad in (
            answer("need_help", 1, "g"),  # a note is required
            answer("on_it", 1, "g", party="owner"),  # a partner is the start-up or the corporate
            answer("approve", 1, "g"),  # four actions, no more
            {**answer("on_it", 1, "g"), "link": "not-a-link"},
        ):
            assert (await refused(handle, bad)).type == "InvalidRequest"
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="test", reason="over")
        )
        await handle.result()
