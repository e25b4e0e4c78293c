"""Planned steps from the installed `passerelle`, against a real dev server, worker and PostgreSQL.

`plan`, `reschedule`, `held`, `cancel-step` and `decision-date` change the status and the search
attributes (`NextStepAt`, `DecisionDue`); `status` and `list` show the next step in Paris time.
Bad input gets one line naming the flag and the rule and sends nothing: a time the clocks skip
or repeat, a time already past, a fourth open step, a step that is not open.
"""

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_found, assert_one_line_error, cli_env, passerelle
from tests.factories import request_data

pytestmark = pytest.mark.e2e
PARIS = ZoneInfo("Europe/Paris")
BY = "ops@programme.example"


def at(name: str, instant: str) -> str:
    """Return a visibility query for a datetime attribute at `instant` (to the second)."""
    moment = datetime.fromisoformat(instant)
    later = (moment + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    return f'{name} >= "{instant}" AND {name} < "{later}"'


async def test_plan_move_hold_and_cancel_steps_from_the_terminal(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, tmp_path: Path
) -> None:
    env, client = cli_env(dev_env, task_queue), dev_env.client
    programme = f"Steps {uuid.uuid4()}"
    request = tmp_path / "request.json"
    request.write_text(json.dumps(request_data(programme=programme)))
    async with run_worker(client):
        assert (await passerelle(env, "start", "--file", str(request), "--id", workflow_id)).code == 0

        async def run(*args: str) -> dict[str, object]:
            result = await passerelle(env, args[0], workflow_id, *args[1:], "--by", BY, "--json")
            assert result.code == 0, result
            answer: dict[str, object] = result.json()
            return answer

        planned = await run("plan", "--kind", "meeting", "--at", "2027-03-30T10:00", "--where", "Station F")
        [step] = planned["steps"]  # type: ignore[misc]
        assert datetime.fromisoformat(step["at"]) == datetime(2027, 3, 30, 10, tzinfo=PARIS)  # 08:00Z
        await assert_found(client, workflow_id, at("NextStepAt", "2027-03-30T08:00:00Z"))
        await run("plan", "--kind", "demo", "--at", "2027-01-12T09:30", "--minutes", "30")  # 08:30Z, winter
        await run("plan", "--kind", "document", "--at", "2027-02-01T18:00+00:00")
        await assert_found(client, workflow_id, at("NextStepAt", "2027-01-12T08:30:00Z"))
        panel = await passerelle(env, "status", workflow_id)
        assert "Next step   s2 demo 2027-01-12 09:30 (Paris), 30 min" in panel.out, panel.out
        listed = await passerelle(env, "list", "--programme", programme)
        assert "2027-01-12 09:30 (Paris)" in listed.out, listed.out

        fourth = await passerelle(
            env, "plan", workflow_id, "--kind", "demo", "--at", "2027-05-01T10:00", "--by", BY
        )
        assert_one_line_error(fourth, 2, "at most 3 open steps (s2, s3, s1)")
        moved = await run("reschedule", "--step", "s2", "--at", "2027-01-19T09:30")
        assert [(s["id"], s["sequence"]) for s in moved["steps"]] == [("s2", 1), ("s3", 0), ("s1", 0)]  # type: ignore[attr-defined]
        await run("held", "--step", "s2", "--note", "convincing demo")
        await run("cancel-step", "--step", "s3")
        after = await run("decision-date", "--on", "2027-06-30")
        assert [s["id"] for s in after["steps"]] == ["s1"]  # type: ignore[attr-defined]
        assert after["step_counts"] == {"planned": 3, "held": 1, "postponed": 1, "cancelled": 1, "missed": 0}
        assert after["decision"]["on"] == "2027-06-30"  # type: ignore[index]
        await assert_found(client, workflow_id, at("DecisionDue", "2027-07-01T00:00:00Z"))

        gone = await passerelle(env, "held", workflow_id, "--step", "s2", "--by", BY)
        assert_one_line_error(gone, 2, "step: s2 is not an open step", "open: s1")
        status = (await passerelle(env, "status", workflow_id, "--json")).json()
        assert (
            status["entries"] == 8
        )  # started, 3 planned, rescheduled, held, cancelled, decision: nothing else


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--at", "2027-03-28T02:30"], ["--at", "does not exist in Paris"]),
        (["--at", "2027-10-31T02:30"], ["--at", "happens twice in Paris", "+02:00 or +01:00"]),
        (["--at", "2020-01-01T10:00"], ["--at", "is past"]),
        (["--at", "next tuesday"], ["--at", "not a date and time"]),
        (["--at", "2027-03-30T10:00", "--minutes", "5"], ["minutes", "greater than or equal to 15"]),
        (["--at", "2027-03-30T10:00", "--kind", "lunch"], ["kind", "meeting", "decision"]),
    ],
)
async def test_bad_plans_are_refused_in_one_line_before_anything_is_sent(
    dev_env: WorkflowEnvironment, task_queue: str, flags: list[str], words: list[str]
) -> None:
    env = cli_env(dev_env, task_queue)
    kind = [] if "--kind" in flags else ["--kind", "meeting"]
    # No worker and no workflow: refused locally, it never reaches Temporal.
    result = await passerelle(env, "plan", "collab-none", *kind, *flags, "--by", BY)
    assert_one_line_error(result, 2, *words)
