"""Each update is one declaration (`workflows.domain.update`): its rule runs once per update.

Live, the validator judges and the handler applies what it found; on replay, where validators do
not run, the handler judges. Either way the rule runs once per update, and the operation never
runs it again. The rule is counted through its declaration, which the workflow's generated
handlers hold: the very object the worker runs.
"""

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from passerelle.intake.playbooks import read
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from passerelle.platform.worker import WORKFLOWS, workflow_runner
from schemas import MilestoneRequest, PauseRequest, Stage, StageChange
from tests.conftest import WorkerFactory
from tests.factories import request_data
from tests.workflows.helpers import abandon, start
from tests.workflows.test_playbooks import EXAMPLE, apply_example
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.updates import UPDATES


@pytest.fixture
def judged() -> Iterator[dict[str, int]]:
    """Count each rule's runs by update name, for the length of one test."""
    counts = {name: 0 for name in UPDATES}
    originals = {name: u.rule for name, u in UPDATES.items()}

    def counting(name: str) -> Any:
        def rule(facts: Any, request: Any) -> Any:
            counts[name] += 1
            return originals[name](facts, request)

        return rule

    for name, update in UPDATES.items():
        object.__setattr__(update, "rule", counting(name))
    try:
        yield counts
    finally:
        for name, update in UPDATES.items():
            object.__setattr__(update, "rule", originals[name])


async def test_the_rule_runs_once_per_update_live_and_on_replay(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    settings: Settings,
    judged: dict[str, int],
) -> None:
    client = time_env.client
    async with run_worker(client):
        handle = await start(client, workflow_id, task_queue)
        for n in range(3):
            await handle.execute_update(
                CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"committee {n}", by="ops")
            )
        await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by="ops", reason="summer"))
        with pytest.raises(WorkflowUpdateFailedError):  # refused by its rule: never applied
            await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by="ops", reason="again"))
        await abandon(handle)
        history = await handle.fetch_history()
    live = dict(judged)
    assert (live["record_milestone"], live["pause"], live["close"]) == (3, 2, 1)
    for name in UPDATES:
        judged[name] = 0
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=converter_for(settings), workflow_runner=workflow_runner()
    )
    await replayer.replay_workflow(history)
    # On replay only the accepted updates run their handlers, which judge since no validator did.
    assert (judged["record_milestone"], judged["pause"], judged["close"]) == (3, 1, 1)


def test_every_update_is_one_declaration_with_a_distinct_name_and_command() -> None:
    """The handlers, the CLI and `passerelle schema` read the same list: names and commands are unique."""
    assert all(dataclasses.is_dataclass(u) for u in UPDATES.values())
    commands = [u.command for u in UPDATES.values() if u.command is not None]
    assert len(set(commands)) == len(commands)
    assert [name for name in UPDATES if name.startswith("_")] == []
    for name, update in UPDATES.items():
        assert update.name == name and update.doc.endswith(".") and update.doc[0].isupper()
        assert getattr(CollaborationWorkflow, name).__doc__ == update.doc


async def test_an_update_sent_with_the_start_is_judged_under_the_playbook_it_waited_for(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, pool: Any, task_queue: str, workflow_id: str
) -> None:
    """Update-with-start: the validator judges before the playbook is read (no gate yet); the
    handler waits for it, and since the state changed, judges again: the gate refuses the move."""
    gates = {"qualification": {"milestones": [{"kind": "first call", "evidence": False}]}}
    playbook = await apply_example(pool, gates={**read(EXAMPLE).playbook.model_dump()["gates"], **gates})
    client = dev_env.client
    async with run_worker(client):
        starting = WithStartWorkflowOperation(
            CollaborationWorkflow.run,
            request_data(programme=playbook.programme),
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await client.execute_update_with_start_workflow(
                CollaborationWorkflow.advance,
                StageChange(to=Stage.QUALIFICATION, by="ops"),
                start_workflow_operation=starting,
            )
        assert getattr(info.value.cause, "type", None) == "GateUnmet", info.value.cause
        handle = await starting.workflow_handle()
        status = await handle.query(CollaborationWorkflow.status)
        assert status.stage is Stage.INTRODUCTION and status.playbook == f"{playbook.programme} v1"
        await abandon(handle)
