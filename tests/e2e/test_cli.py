"""The `passerelle` command end to end: every operator command as a subprocess on a dev server."""

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_found, cli_env, eventually, ids_matching, passerelle
from tests.factories import request_data

pytestmark = pytest.mark.e2e


async def test_every_operation_changes_status_and_search_attributes(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str, tmp_path: Path
) -> None:
    """start --file, advance, milestone, pause, snooze, resume, close: JSON out, attributes in step."""
    env, client, by = cli_env(dev_env, task_queue), dev_env.client, "ops@programme.example"
    request = tmp_path / "request.json"
    request.write_text(json.dumps(request_data(programme=f"Prog {uuid.uuid4()}")))
    async with run_worker(client):
        started = await passerelle(env, "start", "--file", str(request), "--id", workflow_id, "--json")
        assert started.code == 0, started
        assert started.json()["stage"] == "introduction"
        await assert_found(
            client, workflow_id, 'Stage = "introduction" AND Corporate = "Natixis" AND Startup = "Nabla"'
        )
        steps = [
            (["advance", "--to", "qualification", "--note", "call held"], 'Stage = "qualification"'),
            (["milestone", "--kind", "NDA signed"], 'Stage = "qualification" AND Paused = false'),
            (["pause", "--reason", "summer"], "Paused = true"),
            (["snooze", "--days", "3"], "Paused = true AND Stalled = false"),
            (["resume"], "Paused = false"),
            (["advance", "--to", "pilot"], 'Stage = "pilot" AND Sector = "health"'),
        ]
        for args, query in steps:
            result = await passerelle(env, args[0], workflow_id, *args[1:], "--by", by, "--json")
            assert result.code == 0, result
            assert result.json()["workflow_id"] == workflow_id
            await assert_found(client, workflow_id, query)
        status = (await passerelle(env, "status", workflow_id, "--json")).json()
        kinds = [e["kind"] for e in status["history"]]
        assert kinds == [
            "started",
            "stage_changed",
            "milestone",
            "paused",
            "snoozed",
            "resumed",
            "stage_changed",
        ]
        panel = await passerelle(env, "status", workflow_id)
        assert panel.code == 0 and "Natixis × Nabla" in panel.out and "pilot" in panel.out
        closed = await passerelle(
            env, "close", workflow_id, "--outcome", "declined", "--by", by, "--reason", "no budget", "--json"
        )
        assert closed.code == 0 and closed.json()["outcome"] == "declined"
        await assert_found(client, workflow_id, 'Outcome = "declined" AND ExecutionStatus = "Completed"')


async def test_list_filters_and_escapes_names(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str
) -> None:
    """list finds by stage, stalled, parties and programme; quotes in values never become syntax."""
    env, programme = cli_env(dev_env, task_queue), f"Prog {uuid.uuid4()}"
    tricky = "L'Oréal"
    ids = [f"collab-list-{uuid.uuid4()}" for _ in range(2)]
    async with run_worker(dev_env.client):
        for wid, corporate in zip(ids, ["Natixis", tricky], strict=True):
            result = await passerelle(
                env,
                "start",
                "--id",
                wid,
                "--corporate",
                corporate,
                "--corporate-email",
                "a@b.example",
                "--startup",
                "Nabla",
                "--startup-email",
                "c@d.example",
                "--programme",
                programme,
                "--topic",
                "t",
                "--sector",
                "health",
                "--owner-email",
                "o@p.example",
            )
            assert result.code == 0, result
            assert f"started {wid}" in result.out

        async def listed(*filters: str) -> set[str]:
            result = await passerelle(env, "list", "--programme", programme, *filters, "--json")
            assert result.code == 0, result
            return {row["workflow_id"] for row in result.json()}

        async def both_visible() -> None:
            assert await listed("--stage", "introduction") == set(ids)

        await eventually(both_visible)
        assert await listed("--corporate", tricky) == {ids[1]}
        assert await listed("--corporate", 'x" OR Corporate != "') == set(), "a value stays a value"
        assert await listed("--stage", "pilot") == set()
        assert await listed("--stalled") == set()
        assert await listed("--not-stalled", "--startup", "Nabla") == set(ids)
        table = await passerelle(env, "list", "--programme", programme)
        assert table.code == 0 and ids[0] in table.out and "2 collaboration(s)" in table.out
        for wid in ids:
            await passerelle(env, "close", wid, "--outcome", "abandoned", "--by", "t", "--reason", "done")

        async def only_with_all() -> None:
            assert await listed() == set()
            assert await listed("--all") == set(ids)

        await eventually(only_with_all)


async def test_bulk_dry_run_then_pause_resume_close(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str
) -> None:
    """A dry run changes nothing; then each bulk change reaches every match and skips the others."""
    env, programme = cli_env(dev_env, task_queue), f"Bulk {uuid.uuid4()}"
    scope = f'Programme = "{programme}"'
    ids = [f"collab-bulk-{i}-{uuid.uuid4()}" for i in range(3)]
    client = dev_env.client
    async with run_worker(client):
        for wid in ids:
            data = request_data(programme=programme)
            handle = await client.start_workflow("CollaborationWorkflow", data, id=wid, task_queue=task_queue)
            await handle.query("status")
        await eventually(lambda: _count(client, f'{scope} AND Stage = "introduction"', 3))

        dry = await passerelle(
            env, "bulk", "pause", "--query", scope, "--by", "ops", "--reason", "x", "--dry-run", "--json"
        )
        assert dry.code == 0, dry
        assert sorted(o["workflow_id"] for o in dry.json() if o["action"] == "would_change") == sorted(ids)
        assert await ids_matching(client, f"{scope} AND Paused = true") == set()

        paused = await passerelle(env, "bulk", "pause", "--query", scope, "--by", "ops", "--reason", "x")
        assert paused.code == 0 and "3 changed" in paused.out, paused
        await eventually(lambda: _count(client, f"{scope} AND Paused = true", 3))
        again = await passerelle(
            env, "bulk", "pause", "--query", scope, "--by", "ops", "--reason", "x", "--json"
        )
        assert {o["action"] for o in again.json()} == {"skipped"}

        resumed = await passerelle(env, "bulk", "resume", "--query", scope, "--by", "ops", "--json")
        assert [o["action"] for o in resumed.json()] == ["changed"] * 3
        await eventually(lambda: _count(client, f"{scope} AND Paused = false", 3))

        refused = await passerelle(
            env,
            "bulk",
            "close",
            "--query",
            scope,
            "--outcome",
            "deployed",
            "--by",
            "ops",
            "--reason",
            "r",
            "--json",
        )
        assert refused.code == 0 and {o["action"] for o in refused.json()} == {"skipped"}
        closed = await passerelle(
            env,
            "bulk",
            "close",
            "--query",
            scope,
            "--outcome",
            "abandoned",
            "--by",
            "ops",
            "--reason",
            "programme over",
        )
        assert closed.code == 0 and "3 changed" in closed.out, closed
        await eventually(lambda: _count(client, f'{scope} AND Outcome = "abandoned"', 3))
        none = await passerelle(env, "bulk", "resume", "--query", scope, "--by", "ops")
        assert none.code == 0 and "no match" in none.out


async def _count(client: Client, query: str, expected: int) -> None:
    assert len(await ids_matching(client, query)) == expected


async def test_watch_follows_changes_until_closed(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """watch --json prints each event once, then the ending, and exits 0."""
    env = cli_env(dev_env, task_queue)
    async with run_worker(dev_env.client):
        handle = await dev_env.client.start_workflow(
            "CollaborationWorkflow", request_data(), id=workflow_id, task_queue=task_queue
        )
        await handle.query("status")
        watcher = asyncio.create_task(passerelle(env, "watch", workflow_id, "--json", "--interval", "0.3"))
        await asyncio.sleep(2)
        for args in (["advance", "--to", "qualification"], ["milestone", "--kind", "kick-off"]):
            assert (await passerelle(env, args[0], workflow_id, *args[1:], "--by", "ops")).code == 0
            await asyncio.sleep(1)
        await passerelle(env, "close", workflow_id, "--outcome", "declined", "--by", "ops", "--reason", "r")
        watched = await asyncio.wait_for(watcher, 60)
    assert watched.code == 0, watched
    lines = [json.loads(line) for line in watched.out.splitlines()]
    events = [line["event"]["kind"] for line in lines if "event" in line]
    assert events == ["started", "stage_changed", "milestone", "closed"]
    assert lines[-1] == {"end": "closed: declined"}
