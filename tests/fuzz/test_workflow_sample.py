"""A bounded, seeded sample of hostile inputs through the real workflow on the dev server.

The property tests prove the models; this proves the wiring: an invalid start fails the workflow
fast (never its task, which Temporal would retry forever), an invalid update is rejected before
it enters history, and no case leaves a workflow task failing. Oversized notes and names are
refused by our bounds, far below Temporal's payload limits, with a message naming the field.
"""

import asyncio
import copy
import random
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas import CollaborationRequest, CollaborationStatus
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.fuzz.strategies import DELETE, _apply
from tests.fuzz.test_input_properties import REQUEST_PATHS, UPDATES
from tests.workflows.helpers import abandon, event_types, start

SEED = 9
CASES = 15  # starts, and as many updates: 30 cases through the real workflow
BAD: list[Any] = [
    "", "   ", "nul\x00byte", "a\r\nBcc: x@evil.example", "<script>", "'; DROP TABLE x; --",
    5, -1, 0, 1e400, None, {"a": 1}, [1], "not-an-email", "incubation", "x" * 5000, DELETE,
]  # fmt: skip


def sample(rng: random.Random, base: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for path in rng.sample(paths, rng.randint(0, min(2, len(paths)))):
        _apply(doc, path, rng.choice(BAD))
    return doc


def refused_fields(model: Any, doc: dict[str, Any]) -> set[str] | None:
    """Return the top-level fields local validation refuses, or None when it accepts."""
    try:
        model.model_validate(doc)
    except ValidationError as err:
        return {str(e["loc"][0]) for e in err.errors()}
    return None


async def test_sampled_starts_fail_fast_or_run_and_no_task_fails(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """15 seeded start inputs: invalid → workflow failed naming the field; valid → runs."""
    rng = random.Random(SEED)
    outcomes = {"failed": 0, "running": 0}
    async with run_worker(dev_env.client):
        for i in range(CASES):
            doc = sample(rng, EXAMPLE, REQUEST_PATHS)
            refused = refused_fields(CollaborationRequest, doc)
            handle = await start(dev_env.client, f"{workflow_id}-{i}", task_queue, **doc)
            if refused is None:
                await abandon(handle)
                outcomes["running"] += 1
            else:
                with pytest.raises(WorkflowFailureError) as info:
                    await asyncio.wait_for(handle.result(), timeout=15)
                assert isinstance(info.value.cause, ApplicationError)
                assert any(f"{field}" in info.value.cause.message for field in refused)
                outcomes["failed"] += 1
            assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" not in await event_types(handle)
    assert outcomes["failed"] and outcomes["running"], outcomes


async def test_sampled_updates_are_applied_or_rejected_before_history(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """15 seeded update requests on one collaboration: each applied or rejected; no task fails."""
    rng = random.Random(SEED + 1)
    applied = rejected = 0
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        for _ in range(CASES):
            name = rng.choice([u for u in UPDATES if u != "close"])  # closing would end the sample
            model, base = UPDATES[name]
            doc = sample(rng, base, list(base))
            refused = refused_fields(model, doc)
            before = (await event_types(handle)).count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
            try:
                await handle.execute_update(name, doc, result_type=CollaborationStatus)
                applied += 1
                assert refused is None, f"{name} {doc!r} was applied though local validation refuses it"
            except WorkflowUpdateFailedError as err:
                rejected += 1
                message = str(err.cause)
                if refused is not None:
                    assert any(field in message for field in refused), message
                after = await event_types(handle)
                assert after.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == before
        assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" not in await event_types(handle)
        await abandon(handle)
    assert applied and rejected, (applied, rejected)


async def test_oversized_note_and_name_are_refused_with_a_clear_error(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """A 100 kB note is rejected naming `note`; a 1 MB topic fails the start naming `topic`."""
    async with run_worker(dev_env.client):
        handle = await start(dev_env.client, workflow_id, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(
                "advance", {"to": "qualification", "by": "ops", "note": "n" * 100_000}, result_type=dict
            )
        assert "note" in str(info.value.cause) and "at most 4000 characters" in str(info.value.cause)
        await abandon(handle)
        big = await start(dev_env.client, f"{workflow_id}-big", task_queue, topic="t" * 1_000_000)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(big.result(), timeout=15)
    assert "topic: String should have at most 200 characters" in str(failed.value.cause)
