"""`passerelle demo` and `passerelle import` as installed commands, against a real dev server."""

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory, keys_in
from workflows.collaboration import CollaborationWorkflow

pytestmark = pytest.mark.e2e

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


async def passerelle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command without blocking the loop: the test's worker must keep working meanwhile."""
    process = await asyncio.create_subprocess_exec(
        PASSERELLE, *args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 300)
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())


async def test_demo_imports_once_and_a_bad_file_names_its_rows(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    own_database: tuple[str, asyncpg.Pool],
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    """A small demo starts 12 workflows, a second import of its file skips all 12; bad rows exit 2.

    On a database of its own: the demo applies its programmes' playbooks, which would gate every
    other test's collaborations."""
    url, pool = own_database
    env = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PASSERELLE_DATABASE_URL": url,
        "PASSERELLE_TASK_QUEUE": task_queue,
    }
    demo_file = tmp_path / "demo.csv"
    seed = str(abs(hash(task_queue)) % 100_000)  # a fresh set of pairs for this test
    async with run_worker(keys_in(dev_env.client, settings, url), pool=pool):
        demo = await passerelle(
            env, "demo", "--file", str(demo_file), "--collaborations", "12", "--corporates", "4",
            "--startups", "6", "--seed", seed,
        )  # fmt: skip
        again = await passerelle(env, "import", str(demo_file))
        lines = demo_file.read_text().splitlines()
        broken = tmp_path / "broken.csv"
        broken.write_text("\n".join([lines[0], lines[1].replace("@", " at ", 1), lines[2]]) + "\n")
        bad = await passerelle(env, "import", str(broken))
        stalling = (
            await keys_in(dev_env.client, settings, url)
            .get_workflow_handle("demo-stalling-1")
            .query(CollaborationWorkflow.status)
        )
    assert demo.returncode == 0, demo.stderr
    assert "wrote 12 collaborations" in demo.stdout and "12 started, 0 skipped" in demo.stdout
    assert "playbook Coalition Next v1 applied" in demo.stdout
    assert "playbook French Tech Corporate Community v1 applied" in demo.stdout
    adopted = await pool.fetchval("SELECT count(*) FROM milestones WHERE kind = 'playbook_adopted'")
    imported_ftcc_or_cn = await pool.fetchval(
        "SELECT count(*) FROM collaborations WHERE programme IN ('Coalition Next', 'French Tech Corporate Community')"
    )
    assert adopted == imported_ftcc_or_cn > 0, "imported collaborations run under their programme's playbook"
    assert again.returncode == 0 and "0 started, 12 skipped (already imported)" in again.stdout
    # And a few live ones that stall within minutes, so a newcomer sees a reminder and answers it.
    assert "3 live collaboration(s) of French Tech Green20 stall in about 3 minutes" in demo.stdout
    assert stalling.stall_deadline is not None
    assert stalling.stall_deadline - datetime.now(UTC) < timedelta(minutes=4)
    assert bad.returncode == 2
    assert 'broken.csv, row 2, column "corporate_email": value is not a valid email address' in bad.stderr
    assert "0 started, 1 skipped (already imported), 1 row(s) with errors" in bad.stdout
