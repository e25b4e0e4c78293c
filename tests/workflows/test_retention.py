"""`PrivacyRetentionWorkflow` on the time-skipping server: a collaboration closed three years ago
is pseudonymised and shredded; one closed last month is untouched, unless its programme's
playbook keeps data a shorter time."""

import json
import uuid
from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import store_for
from passerelle.platform.settings import Settings
from schemas.privacy import RetentionRequest, RetentionResult
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.workflows.helpers import abandon, start
from workflows.retention import PrivacyRetentionWorkflow

DAY = timedelta(days=1)


async def _naming(pool: asyncpg.Pool, address: str) -> int:
    counted: int = await pool.fetchval(
        "SELECT (SELECT count(*) FROM milestones m WHERE m::text ILIKE $1)"
        " + (SELECT count(*) FROM notifications n WHERE n::text ILIKE $1)",
        f"%{address}%",
    )
    return counted


async def test_the_sweep_shreds_what_is_past_retention_and_leaves_the_rest(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    own_database: tuple[str, asyncpg.Pool],
    settings: Settings,
    task_queue: str,
) -> None:
    _, pool = own_database
    tag = uuid.uuid4().hex[:8]
    old, recent, short = (f"ana.{tag}.{n}@nabla.example" for n in ("old", "recent", "short"))
    ids = {n: f"retention-{tag}-{n}" for n in ("old", "recent", "short")}
    async with run_worker(time_env.client, pool=pool):
        handle = await start(
            time_env.client, ids["old"], task_queue, startup={**EXAMPLE["startup"], "contact_email": old}
        )
        await abandon(handle)
        await time_env.sleep(3 * 365 * DAY - 60 * DAY)
        handle = await start(
            time_env.client,
            ids["short"],
            task_queue,
            programme="Short Memory Programme",
            startup={**EXAMPLE["startup"], "contact_email": short},
        )
        await abandon(handle)
        await time_env.sleep(20 * DAY)
        handle = await start(
            time_env.client,
            ids["recent"],
            task_queue,
            startup={**EXAMPLE["startup"], "contact_email": recent},
        )
        await abandon(handle)
        await time_env.sleep(40 * DAY)
        # The programme's playbook keeps closed collaborations' data 30 days only.
        await pool.execute(
            "INSERT INTO playbooks (programme, version, body, source, sha256, applied_by)"
            " VALUES ('Short Memory Programme', 1, $1::jsonb, '', '', 'ops')",
            {"programme": "Short Memory Programme", "retention_days": 30},
        )
        # Awaiting a result lets the shared server skip to any workflow's next timer, so the
        # closings' ages are pinned to the server's clock now (the sweep reads `occurred_at`).
        now = await time_env.get_current_time()
        for name, age in (("old", 3 * 365 * DAY), ("short", 60 * DAY), ("recent", 40 * DAY)):
            await pool.execute(
                "UPDATE milestones SET occurred_at = $2 WHERE workflow_id = $1 AND kind = 'closed'",
                ids[name],
                now - age,
            )
        assert all([await _naming(pool, a) for a in (old, recent, short)])
        result = await time_env.client.execute_workflow(
            PrivacyRetentionWorkflow.run,
            RetentionRequest(default_days=730),
            id=f"retention-run-{tag}",
            task_queue=task_queue,
            result_type=RetentionResult,
        )
    rows = {r["workflow_id"]: r for r in await pool.fetch("SELECT * FROM collaborations")}
    assert sorted(result.collaborations) == sorted(
        [rows[ids["old"]]["collaboration_id"], rows[ids["short"]]["collaboration_id"]]
    )
    assert result.keys_destroyed == 2 and result.rows_changed > 0 and not result.more
    assert await _naming(pool, old) == 0 and await _naming(pool, short) == 0
    assert await _naming(pool, recent) > 0, "closed 40 days ago: kept for the default 730 days"
    assert rows[ids["old"]]["erased_at"] is not None and rows[ids["recent"]]["erased_at"] is None
    assert rows[ids["old"]]["stage"] == "introduction" and rows[ids["old"]]["outcome"] == "abandoned"
    kinds = await pool.fetch(
        "SELECT kind, actor FROM milestones WHERE workflow_id = $1 ORDER BY seq", ids["old"]
    )
    assert [k["kind"] for k in kinds] == ["started", "closed"], "the business facts stay"
    store = store_for(settings)
    assert store is not None
    for name, shredded in (("old", True), ("short", True), ("recent", False)):
        keys = await store.chain(ids[name])
        assert all(k["destroyed_at"] is not None for k in keys) is shredded, name
    record = await pool.fetchrow("SELECT * FROM erasures WHERE workflow_ids = $1", [ids["old"]])
    assert record["scope"] == "retention" and record["keys_destroyed"] == 1
    assert old not in json.dumps(dict(record), default=str)
