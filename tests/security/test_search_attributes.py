"""Search attributes are stored unencrypted: after a lifecycle, or with a plan, none holds personal data."""

import asyncio
from datetime import UTC, datetime

from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.faults.helpers import full_lifecycle
from tests.workflows.helpers import abandon, start
from workflows import search_attributes as sa

EMAILS = {EXAMPLE["corporate"]["contact_email"], EXAMPLE["startup"]["contact_email"], EXAMPLE["owner_email"]}


async def test_no_search_attribute_carries_an_email_or_a_note(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """Every custom search attribute value after a full lifecycle: no e-mail, no '@', no note."""
    async with run_worker(dev_env.client):
        await full_lifecycle(dev_env.client, workflow_id, task_queue)
        description = await dev_env.client.get_workflow_handle(workflow_id).describe()
    values = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    # The plan's attributes are instants and a flag, unset once the collaboration is closed.
    plan = {sa.NEXT_STEP_AT, sa.DECISION_DUE, sa.DECISION_OVERDUE}
    assert set(values) >= {k.name for k in sa.ALL if k is not sa.OUTCOME and k not in plan} | {"Outcome"}
    assert not {k.name for k in plan} & set(values)
    assert values["Outcome"] == "deployed"
    for name, value in values.items():
        text = str(value)
        assert "@" not in text, f"{name} holds an e-mail-like value: {text!r}"
        assert text not in EMAILS
    memo = await description.memo()
    assert set(memo) <= {"collaboration_id"}, f"unexpected memo fields: {sorted(memo)}"
    assert all("@" not in str(v) and str(v) not in EMAILS for v in memo.values()), "no e-mail in the memo"


async def test_the_plans_search_attributes_hold_instants_and_a_flag_only(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A step planned with people, a place and a note, and a decision date already past: the
    plan's attributes are the step's instant, the decision's and `DecisionOverdue`, nothing else."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        plan = {
            "kind": "meeting",
            "at": "2027-03-30T10:00:00+02:00",
            "where": "Station F, ask for anne@nabla.example",
            "with_whom": ["anne@nabla.example"],
            "note": "Call claire@natixis.example first",
            "by": "ops@programme.example",
        }
        await handle.execute_update("plan_step", plan)
        await handle.execute_update("set_decision_date", {"on": "2026-01-05", "by": "ops@programme.example"})
        for _ in range(50):  # the overdue duty fires in the workflow task after the update's
            values = {p.key.name: p.value for p in (await handle.describe()).typed_search_attributes}
            if "DecisionOverdue" in values:
                break
            await asyncio.sleep(0.2)
        await abandon(handle)
    assert values["NextStepAt"] == datetime(2027, 3, 30, 8, tzinfo=UTC)
    assert values["DecisionDue"] == datetime(2026, 1, 6, tzinfo=UTC) and values["DecisionOverdue"] is True
    for name, value in values.items():
        assert "@" not in str(value) and "Station" not in str(value), f"{name} holds {value!r}"
