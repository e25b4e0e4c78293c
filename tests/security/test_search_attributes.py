"""Search attributes are stored unencrypted: after a lifecycle none holds personal data."""

from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.faults.helpers import full_lifecycle
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
