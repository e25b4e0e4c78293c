"""Golden histories of real lifecycles replay against the current workflow code.

The files under `tests/replay/golden/<scenario>/` were recorded from the scenarios of
`scenarios.py` on the time-skipping server (export format: one JSON file per run and a manifest
with their SHA-256). A change to the workflow that no longer explains them fails the build: make
it with `workflow.patched` instead (docs/auditors.md, "Golden histories and changing a running
workflow").

Regenerate them (only when a change is meant to leave old histories behind, e.g. once no
collaboration started before a patch is still open) with:

    PASSERELLE_RECORD_GOLDEN=1 .venv/bin/pytest tests/replay/test_golden.py -k record
"""

import os
import shutil
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory
from tests.replay.scenarios import SCENARIOS, ClientEnvironment

GOLDEN = Path(__file__).parent / "golden"


def golden_folders() -> list[Path]:
    """Return the recorded scenarios' export folders."""
    return sorted(p for p in GOLDEN.iterdir() if (p / "manifest.json").exists())


def test_every_scenario_has_a_golden_history() -> None:
    """Each scenario is recorded, so none can silently drop out of the replay gate."""
    assert [p.name for p in golden_folders()] == sorted(SCENARIOS)


@pytest.mark.parametrize("folder", golden_folders(), ids=lambda p: p.name)
async def test_golden_history_replays(folder: Path, settings: Settings) -> None:
    """Every run of the recorded lifecycle replays without a non-determinism error.

    The goldens hold clear payloads (recorded so, to be readable by any future key): replaying
    them with the suite's encrypted settings is also the proof that clear histories still read.
    """
    runs = read_export(folder)
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert [o.run_id for o in outcomes] == [r.run_id for r in runs]
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]


async def test_process_pool_gives_the_same_verdicts_in_order(settings: Settings) -> None:
    """Replaying on two processes keeps one verdict per history, in the order given."""
    runs = [run for folder in golden_folders() for run in read_export(folder)] * 3
    outcomes = await replay_runs(runs, settings, jobs=2)
    assert [o.run_id for o in outcomes] == [r.run_id for r in runs]
    assert all(o.passed for o in outcomes)


@pytest.mark.skipif(not os.environ.get("PASSERELLE_RECORD_GOLDEN"), reason="set PASSERELLE_RECORD_GOLDEN=1")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_golden_history(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    name: str,
    clear_settings: Settings,
) -> None:
    """Record a scenario's chain of runs as its golden export (on demand only), in clear.

    Clear, so the goldens never depend on a key: the suite's key is new every session.
    """
    await record_scenario(time_env, run_worker, task_queue, name, clear_settings, GOLDEN / name)


async def record_scenario(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    name: str,
    clear_settings: Settings,
    folder: Path,
) -> None:
    """Run scenario `name` on today's code with a clear client and export its runs to `folder`."""
    config = time_env.client.config()  # keeps the time-skipping interceptor
    clear = Client(**{**config, "data_converter": converter_for(clear_settings)})
    async with run_worker(clear):
        workflow_id = await SCENARIOS[name](
            ClientEnvironment(clear, time_env.sleep), f"{folder.parent.name}-{name}", task_queue
        )
    runs = await fetch_chain(clear, workflow_id)
    shutil.rmtree(folder, ignore_errors=True)
    write_export(runs, folder, "default")
    assert (folder / "manifest.json").exists()
