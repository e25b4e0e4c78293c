"""The `passerelle` command's failures: one clear line, the right exit code, never a traceback."""

import asyncio
import json
import socket
import sys
import uuid
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_one_line_error, cli_env, passerelle, passerelle_each
from tests.factories import request_data
from workflows.collaboration import CollaborationWorkflow

pytestmark = pytest.mark.e2e

BY = ["--by", "ops"]
# Refused before Temporal is called: the same schemas as the workflow.
LOCAL_BAD_INPUTS = [
    (["advance", "w", "--to", "moon", *BY], "to: Input should be"),
    (["advance", "w", "--to", "pilot", "--by", ""], "by:"),
    (["milestone", "w", "--kind", "NDA", "--evidence-url", "not a url", *BY], "evidence_url"),
    (["close", "w", "--outcome", "won", "--reason", "r", *BY], "outcome"),
    (["close", "w", "--outcome", "declined", "--reason", "", *BY], "reason"),
    (["pause", "w", "--reason", "", *BY], "reason"),
    (["snooze", "w", "--days", "-1", *BY], "days"),
    (["snooze", "w", "--days", "soon", *BY], "days"),
    (["start", "--corporate", "A", "--corporate-email", "nope"], "corporate.contact_email"),
    (["start", "--file", "/nonexistent/request.json"], "cannot read"),
    (["start", "--corporate", "A", "--stall", "pilot=0"], "stall_after_days.pilot"),
    (["list", "--stage", "launch"], "--stage"),
    (["schema", "launch"], "unknown schema"),
    (["bulk", "close", "--query", "x", "--outcome", "won", "--reason", "r", *BY], "outcome"),
]


TEMPORAL = str(Path(sys.executable).parent / "temporal")


async def temporal_cli(env: dict[str, str], *args: str) -> str:
    """Run the `temporal` CLI against the test's server; return what it printed."""
    process = await asyncio.create_subprocess_exec(
        TEMPORAL,
        *args,
        "--address",
        env["TEMPORAL_ADDRESS"],
        "--namespace",
        env["TEMPORAL_NAMESPACE"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return out.decode()


@pytest.fixture
def env(dev_env: WorkflowEnvironment, task_queue: str) -> dict[str, str]:
    """The CLI's environment for this test."""
    return cli_env(dev_env, task_queue)


async def test_bad_input_is_refused_locally_with_exit_2(env: dict[str, str]) -> None:
    """Each bad flag gives exit code 2 and one line naming the field, before contacting Temporal."""
    offline = {**env, "TEMPORAL_ADDRESS": "127.0.0.1:9"}  # nothing listens: proves no call is made
    results = await passerelle_each(offline, [args for args, _ in LOCAL_BAD_INPUTS])
    for (_, words), result in zip(LOCAL_BAD_INPUTS, results, strict=True):
        assert_one_line_error(result, 2, words)


async def test_usage_errors_exit_2_without_traceback(env: dict[str, str]) -> None:
    """A missing option or unknown command is a usage error (exit 2), never a crash."""
    for args in (["advance", "w"], ["frobnicate"], ["bulk", "pause", "--by", "x", "--reason", "r"]):
        result = await passerelle(env, *args)
        assert result.code == 2 and "Usage" in result.err, result


async def test_refusals_by_the_workflow_exit_2(
    env: dict[str, str],
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    workflow_id: str,
    tmp_path: Path,
) -> None:
    """Illegal move, double start, resume when not paused, bad bulk query: exit 2, one line."""
    request = tmp_path / "r.json"
    request.write_text(json.dumps(request_data(programme=f"P {uuid.uuid4()}")))
    async with run_worker(dev_env.client):
        assert (await passerelle(env, "start", "--file", str(request), "--id", workflow_id)).code == 0
        double = await passerelle(env, "start", "--file", str(request), "--id", workflow_id)
        assert_one_line_error(double, 2, "already running", workflow_id)
        illegal = await passerelle(env, "advance", workflow_id, "--to", "deployment", *BY)
        assert_one_line_error(illegal, 2, "cannot move to deployment from introduction")
        # Any client reads the refusal as final: the Temporal CLI, with no codec, sees its type.
        raw = await temporal_cli(
            env,
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            workflow_id,
            "--name",
            "advance",
            "--input",
            json.dumps({"to": "deployment", "by": "ops"}),
        )
        assert "type: IllegalMove" in raw and "retryable: false" in raw, raw
        assert_one_line_error(await passerelle(env, "resume", workflow_id, *BY), 2, "not paused")
        paused = await passerelle(env, "pause", workflow_id, "--reason", "summer", *BY)
        assert paused.code == 0, paused
        again = await passerelle(env, "pause", workflow_id, "--reason", "summer", *BY)
        assert_one_line_error(again, 2, "already paused")
        bad_query = await passerelle(env, "bulk", "pause", "--query", "Stage ==== 1", *BY, "--reason", "r")
        assert_one_line_error(bad_query, 2, "invalid")
        closed = await passerelle(env, "close", workflow_id, "--outcome", "abandoned", "--reason", "r", *BY)
        assert closed.code == 0, closed
        after = await passerelle(env, "milestone", workflow_id, "--kind", "late", *BY)
        assert after.code != 0 and after.err.startswith("error: "), after


async def test_unknown_id_and_unreachable_server_exit_1(env: dict[str, str]) -> None:
    """An unknown workflow id or an unreachable server is a failure (exit 1), one line."""
    assert_one_line_error(await passerelle(env, "status", f"collab-missing-{uuid.uuid4()}"), 1, "not found")
    assert_one_line_error(await passerelle(env, "watch", f"collab-missing-{uuid.uuid4()}"), 1, "not found")
    offline = {**env, "TEMPORAL_ADDRESS": "127.0.0.1:9"}
    assert_one_line_error(await passerelle(offline, "list"), 1, "cannot reach Temporal")


async def test_schema_prints_start_updates_and_status(env: dict[str, str]) -> None:
    """schema prints JSON Schemas for the start input, every update and the status query."""
    everything = (await passerelle(env, "schema")).json()
    assert everything["start"]["title"] == "CollaborationRequest"
    defined = set(workflow._Definition.must_from_class(CollaborationWorkflow).updates)
    assert set(everything["updates"]) == defined, "every update of the workflow has its schema"
    assert len(defined) == 18
    assert "to" in everything["updates"]["advance"]["properties"]
    assert everything["updates"]["request_approval"]["required"] == ["for", "by"]
    assert (await passerelle(env, "schema", "snooze")).json()["title"] == "SnoozeRequest"
    assert (await passerelle(env, "schema", "partner_answer")).json()["title"] == "PartnerAnswer"
    assert (await passerelle(env, "schema", "plan")).json()["title"] == "PlanStep"
    assert "stage" in (await passerelle(env, "schema", "status")).json()["properties"]


async def test_worker_without_its_servers_says_which_one_in_one_line(
    env: dict[str, str], postgres_url: str
) -> None:
    """An unreachable database, then an unreachable Temporal: exit 1, the server named, no traceback."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    no_db = await passerelle(
        {**env, "PASSERELLE_DATABASE_URL": f"postgresql://ops:s3cret@127.0.0.1:{port}/p"}, "worker"
    )
    assert no_db.code == 1 and "cannot use PostgreSQL at postgresql://ops:***@127.0.0.1" in no_db.err, no_db
    assert "s3cret" not in no_db.err and "Traceback" not in no_db.err
    no_temporal = await passerelle(
        {**env, "PASSERELLE_DATABASE_URL": postgres_url, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}, "worker"
    )
    assert no_temporal.code == 1 and f"cannot reach Temporal at 127.0.0.1:{port}" in no_temporal.err, (
        no_temporal
    )
    assert "Traceback" not in no_temporal.err
