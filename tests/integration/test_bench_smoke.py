"""Smoke tests of the benchmarks' code paths with tiny sizes on the session's real servers.

Nothing is timed here (CI does not benchmark); these only keep `bench/` from rotting.
"""

import os
import uuid
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from bench import cli, lifecycle, milestone, privacy, replay_bench, scale, timeskip
from bench.common import Report
from passerelle.platform.settings import Settings


async def test_lifecycle_sides_complete(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    """A full collaboration and a bare lifecycle both run to their end on the bench workers."""
    ours, bare, queue, bare_queue = lifecycle.workers(dev_env.client, pool, uuid.uuid4().hex[:8])
    async with ours, bare:
        assert await lifecycle.batch(lifecycle.passerelle_lifecycle, dev_env.client, queue, 2, 2) > 0
        assert await lifecycle.batch(lifecycle.bare_lifecycle, dev_env.client, bare_queue, 2, 2) > 0
        ours_id = await lifecycle.passerelle_lifecycle(dev_env.client, queue)
        ours_work = await lifecycle.work_of(dev_env.client, ours_id)
        load = await lifecycle.load_of(dev_env.client, ours_id)
        loaded_id = await lifecycle.loaded_lifecycle(load)(dev_env.client, bare_queue)
        loaded_work = await lifecycle.work_of(dev_env.client, loaded_id)
        bare_work = await lifecycle.work_of(
            dev_env.client, await lifecycle.bare_lifecycle(dev_env.client, bare_queue)
        )
    # The baseline does the same work: as many updates, and as many activities of each role.
    ours_size = ours_work.pop("history_events"), ours_work.pop("history_bytes")
    bare_size = bare_work.pop("history_events"), bare_work.pop("history_bytes")
    assert ours_work == {"deliver": 9, "load_playbook": 1, "record_events": 9, "updates": 8}
    assert bare_work == {"bare_lookup": 1, "bare_notify": 9, "bare_record": 9, "updates": 8}
    assert min(ours_size + bare_size) > 0
    # The loaded bare lifecycle does the baseline's work, each of its 9 records carrying the size
    # of Passerelle's largest.
    assert min(load.values()) > 100
    assert {k: v for k, v in loaded_work.items() if not k.startswith("history_")} == bare_work
    assert loaded_work["history_bytes"] - bare_size[1] >= 9 * load["record"]


async def test_the_baseline_writes_what_passerelle_writes(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """One lifecycle of each side writes as many rows to each table and sends as many statements."""
    ours, bare, queue, bare_queue = lifecycle.workers(dev_env.client, pool, uuid.uuid4().hex[:8])
    async with ours, bare:
        ours_id = await lifecycle.passerelle_lifecycle(dev_env.client, queue)
        bare_id = await lifecycle.bare_lifecycle(dev_env.client, bare_queue)
    counts = []
    for workflow_id in (ours_id, bare_id):
        counts.append(
            await pool.fetchrow(
                """SELECT (SELECT count(*) FROM collaborations WHERE workflow_id = $1) AS projection,
                    (SELECT count(*) FROM milestones WHERE workflow_id = $1) AS milestones,
                    (SELECT count(*) FROM notifications WHERE workflow_id = $1) AS notifications,
                    (SELECT count(*) FROM deliveries d JOIN notifications n USING (idempotency_key)
                     WHERE n.workflow_id = $1 AND d.status = 'sent') AS sent""",
                workflow_id,
            )
        )
    assert (
        dict(counts[0])
        == dict(counts[1])
        == {"projection": 1, "milestones": 9, "notifications": 9, "sent": 9}
    )


async def test_replay_paths_agree(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path, settings: Settings
) -> None:
    """Recorded lifecycles replay cleanly with the default Replayer and both audit modes."""
    ours, _, queue, _ = lifecycle.workers(dev_env.client, pool, uuid.uuid4().hex[:8])
    async with ours:
        wid = await lifecycle.passerelle_lifecycle(dev_env.client, queue)
    history = await dev_env.client.get_workflow_handle(wid).fetch_history()
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}-{wid}.json")
        paths[-1].write_text(history.to_json())
    loaded = [replay_bench.load_history(p) for p in paths]
    assert await replay_bench.default_replayer(loaded, settings) == [None] * 3
    for sandboxed in (True, False):
        name, errors = await replay_bench.passerelle_replay(loaded, sandboxed, settings)
        assert errors == [None] * 3, name


async def test_milestone_writers_write_one_row_each(pool: asyncpg.Pool) -> None:
    """The activity and both raw writers each add the row they were given."""
    for writer in (milestone.raw_same_work, milestone.raw_row):
        collaboration = str(uuid.uuid4())
        await milestone.raw_same_work(pool, milestone.make_record(collaboration, 1))
        await writer(pool, milestone.make_record(collaboration, 2))
        count = await pool.fetchval(
            "SELECT count(*) FROM milestones WHERE collaboration_id = $1", collaboration
        )
        assert count == 2


async def test_two_stalled_years_and_the_bare_wait(time_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    """Both two-year runs finish; the collaboration was reminded 6 times, backing off."""
    ours, bare, queue, bare_queue = lifecycle.workers(time_env.client, pool, uuid.uuid4().hex[:8])
    async with ours, bare:
        _, reminders = await timeskip.passerelle_two_years(time_env, queue)
        assert await timeskip.bare_two_years(time_env, bare_queue) > 0
    assert reminders == 6


async def test_scale_helpers_sample_and_render(dev_env: WorkflowEnvironment) -> None:
    """The RSS sampler reads a process; the stalled table renders; the CLI probe answers."""
    sampler = scale.RssSampler(os.getpid())
    text = await scale.list_stalled_table(dev_env.client)
    await scale.asyncio.sleep(0.05)
    sampler.stop()
    assert sampler.peak > 0 and "workflow id" in text
    assert isinstance(scale.has_list_command(), bool)


def test_report_records_targets(tmp_path: Path) -> None:
    """A report marks each target met or not."""
    report = Report("smoke", {"n": 1})
    report.target("ratio", 0.95, 0.9, at_least=True)
    report.target("seconds", 3.0, 2.0, at_least=False)
    assert [t["met"] for t in report.targets] == [True, False]


async def test_the_access_search_finds_the_one_seeded_contact(own_database: tuple[str, asyncpg.Pool]) -> None:
    """The privacy benchmark's rows hold its address in exactly one collaboration."""
    _, pool = own_database
    async with pool.acquire() as conn:
        await privacy.seed(conn, 40)
    rows = await privacy.database_rows(pool, privacy.address_of(40))
    assert [c["collaboration_id"] for c in rows["collaborations"]] == ["c20"]
    assert len(rows["notifications"]) == 2 and rows["milestones"] == []


async def test_cli_timings_run_the_installed_commands() -> None:
    """The CLI benchmark times a command to its end, and a failing command stops it."""
    passerelle = cli.find_binary("passerelle")
    env = dict(os.environ)
    ours, theirs = await cli.side_by_side([passerelle, "--help"], [passerelle, "schema", "--help"], env, 1)
    assert ours > 0 and theirs is not None and theirs > 0
    try:
        await cli.wall([passerelle, "no-such-command"], env)
    except RuntimeError as err:
        assert "exited 2" in str(err)
    else:
        raise AssertionError("a failing command was timed as if it had run")
