"""The reported scenario, end to end through the installed CLI: an erasure reaches one person.

Six collaborations with the contacts `ana@x.example` (running), `diana@x.example` and
`ana@x.example.org` (closed), `joana@x.example` (running), `ben@x.example` and `reuben@x.example`
(closed), in a database of the test's own. Erasing `ana@` and `ben@` changes their collaborations
only: the others keep their data keys, rows and status, and the running `joana@` is never sent
`erase_contact`. The access export of `ana@` holds one collaboration. Erasing `joana@` itself
then keeps her collaboration running with the contact erased: paused, written to no more,
resumed by an operator.
"""

import asyncio
import json
import subprocess
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.settings import Settings
from schemas import Closure, MilestoneRequest, Outcome, ResumeRequest
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory, keys_in
from tests.integration.privacy_rows import live_keys, mentions_left, rows_of, settled
from tests.workflows.helpers import latest_status, start
from workflows.collaboration import CollaborationWorkflow

pytestmark = pytest.mark.e2e

CONTACTS = {
    "ana": ("ana@x.example", True),
    "diana": ("diana@x.example", False),
    "ana-org": ("ana@x.example.org", False),
    "joana": ("joana@x.example", True),
    "ben": ("ben@x.example", False),
    "reuben": ("reuben@x.example", False),
}


async def test_erasing_ana_and_ben_reaches_them_and_nobody_else(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    own_database: tuple[str, asyncpg.Pool],
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    url, pool = own_database
    client = keys_in(dev_env.client, settings, url)

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:  # the worker runs on this loop
        return await asyncio.to_thread(passerelle, client, *args, database_url=url)

    ids = {name: f"scenario-{name}" for name in CONTACTS}
    async with run_worker(client, pool=pool):
        for name, (address, running) in CONTACTS.items():
            handle = await start(
                client, ids[name], task_queue, startup={"name": f"Start-up {name}", "contact_email": address}
            )
            await handle.execute_update(
                CollaborationWorkflow.record_milestone,
                MilestoneRequest(kind="call", by="ops@programme.example", note=f"Write to {address}."),
            )
            if not running:
                await handle.execute_update(
                    CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="no fit")
                )
        others = [ids[n] for n in ("diana", "ana-org", "joana", "reuben")]
        await settled(pool, list(ids.values()))
        rows, keys = await rows_of(pool, others), await live_keys(pool, others)
        assert all(len(k) == 1 for k in keys.values()) and len(keys) == 4

        out = tmp_path / "ana.json"
        export = await cli("privacy", "export", "--email", "ana@x.example", "--out", str(out))
        assert export.returncode == 0, export.stderr
        assert "in 1 collaboration(s)" in export.stdout
        document = json.loads(out.read_text())
        assert [r["workflow_id"] for r in document["postgresql"]["collaborations"]] == [ids["ana"]]
        assert {p["workflow_id"] for p in document["temporal"]} == {ids["ana"]}

        erase = ("privacy", "erase", "--by", "dpo@programme.example", "--reason", "request 42")
        dry = await cli(*erase, "--email", "ana@x.example", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        named = [i for i in ids.values() if f"  {i} (" in dry.stdout]
        assert named == [ids["ana"]], dry.stdout
        for address in ("ana@x.example", "ben@x.example"):
            done = await cli(*erase, "--email", address)
            assert done.returncode == 0, done.stdout + done.stderr
        assert "0 running collaboration(s) re-keyed, 1 closed one(s) shredded" in done.stdout

        assert await rows_of(pool, others) == rows, "the neighbours' rows are as they were"
        assert await live_keys(pool, others) == keys, "and so are their data keys"
        for name in ("diana", "ana-org", "reuben"):
            shown = await cli("status", ids[name])
            assert shown.returncode == 0 and "erased" not in shown.stdout, shown
        status = await latest_status(client, ids["joana"])  # never sent erase_contact: one run
        assert status.runs == 1 and status.erased_parties == [] and not status.paused
        ana = await latest_status(client, ids["ana"])
        assert ana.runs == 2 and ana.erased_parties == ["startup"] and ana.paused

        # Erasing joana@ herself: her running collaboration goes on, with nobody written to in her place.
        done = await cli(*erase, "--email", "joana@x.example")
        assert done.returncode == 0, done.stdout + done.stderr
        joana = client.get_workflow_handle(ids["joana"])
        status = await latest_status(client, ids["joana"])
        assert status.runs == 2 and status.erased_parties == ["startup"] and status.paused
        await joana.execute_update(CollaborationWorkflow.resume, ResumeRequest(by="ops@programme.example"))
        await joana.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        await joana.result()
        await client.get_workflow_handle(ids["ana"]).execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
        )
        await settled(pool, list(ids.values()))
    closing = await pool.fetchval(
        "SELECT recipients::text FROM notifications WHERE workflow_id = $1 AND event = 'closed'", ids["joana"]
    )
    assert "erased:" not in closing and "joana" not in closing, "the erased party is written to no more"
    texts = [t for rows in (await rows_of(pool, list(ids.values()))).values() for t in rows]
    everyone = [address for address, _ in CONTACTS.values()]
    for address in ("ana@x.example", "ben@x.example", "joana@x.example"):
        assert mentions_left(texts, address, [a for a in everyone if a != address]) == [], address
    for address in ("diana@x.example", "ana@x.example.org", "reuben@x.example"):
        assert any(address in t for t in texts), address
