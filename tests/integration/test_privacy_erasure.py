"""`passerelle privacy erase`: a contact's erasure, end to end, on a real Temporal and PostgreSQL.

The address is the start-up contact of a running collaboration (and named in one of its notes)
and of a closed one. After the installed command ran:
- the running collaboration works on with the replacement contact, in a new run under a new data
  key; its earlier runs cannot be decrypted, with the erasure's own error;
- the closed collaboration's history cannot be decrypted through the CLI nor the codec server;
- no table of PostgreSQL holds the address any more, the `erasures` row says who and why;
- `audit verify`, `audit timeline` and `audit replay` report the erasure and still pass.
"""

import asyncio
import json
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain
from passerelle.platform.client import converter_for, store_for
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.keystore import DataKeyDestroyed
from passerelle.platform.settings import Settings
from passerelle.privacy.access import decoded_payload
from schemas import MilestoneRequest
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.integration.processes import free_port
from tests.workflows.helpers import abandon, latest_status, start
from workflows.collaboration import CollaborationWorkflow


async def _every_table_naming(pool: asyncpg.Pool, address: str) -> dict[str, int]:
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    found = {}
    for row in tables:
        name = row["table_name"]
        count = await pool.fetchval(f'SELECT count(*) FROM "{name}" t WHERE t::text ILIKE $1', f"%{address}%")
        if count:
            found[name] = count
    return found


async def test_a_contact_is_erased_from_a_running_and_a_closed_collaboration(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    address, replacement = f"ana.{tag}@nabla.example", f"partners.{tag}@nabla.example"
    running_id, closed_id, other_id = (f"erase-{tag}-{name}" for name in ("running", "closed", "other"))
    startup = {**EXAMPLE["startup"], "contact_email": address}
    async with run_worker(dev_env.client):
        running = await start(dev_env.client, running_id, task_queue, startup=startup)
        await running.execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind="call", by="ops", note=f"Ask {address.upper()} for the deck"),
        )
        closed = await start(dev_env.client, closed_id, task_queue, startup=startup)
        await abandon(closed)
        other = await start(dev_env.client, other_id, task_queue)
        assert set(await _every_table_naming(pool, address)) >= {"milestones", "notifications"}
        first_runs = await fetch_chain(dev_env.client, running_id)

        erase = ("privacy", "erase", "--email", address, "--by", "dpo@programme.example")
        dry = passerelle(dev_env.client, *erase, "--reason", "GDPR request 42", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"{running_id} (" in dry.stdout and "would get erase_contact" in dry.stdout
        assert f"{closed_id} (" in dry.stdout and "closed: every data key destroyed" in dry.stdout
        assert other_id not in dry.stdout
        assert await _every_table_naming(pool, address), "a dry run changes nothing"

        # In a thread: the worker runs on this test's event loop and must answer the command.
        done = await asyncio.to_thread(
            passerelle, dev_env.client, *erase, "--reason", "GDPR request 42", "--replacement", replacement
        )
        assert done.returncode == 0, done.stderr
        assert "1 running collaboration(s) re-keyed, 1 closed one(s) shredded" in done.stdout, done.stdout

        # The running collaboration works on, with the replacement, in a new run.
        status = await latest_status(dev_env.client, running_id)
        assert status.runs == 2 and not status.erasure_under_way and not status.paused
        after = await dev_env.client.get_workflow_handle(running_id).execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind="NDA signed", by="ops")
        )
        assert after.entries == status.entries + 1
        assert [h.kind.value for h in status.history][-1] == "contact_erased"
        await abandon(dev_env.client.get_workflow_handle(running_id))
        await abandon(other)

    # PostgreSQL holds no trace of the address, anywhere; the erasure record says who and why.
    assert await _every_table_naming(pool, address) == {}
    record = await pool.fetchrow("SELECT * FROM erasures WHERE reason = 'GDPR request 42'")
    assert record["erased_by"] == "dpo@programme.example" and record["pseudonym"].startswith("erased:")
    assert sorted(record["workflow_ids"]) == sorted([running_id, closed_id])
    notified = await pool.fetchval(
        "SELECT recipients::text FROM notifications WHERE workflow_id = $1 ORDER BY created_at DESC LIMIT 1",
        running_id,
    )
    assert replacement in notified, "the closing e-mail goes to the replacement"

    # The runs sealed before the erasure cannot be decrypted, with the erasure's own error.
    converter = converter_for(settings)
    started = first_runs[0].events[0].workflow_execution_started_event_attributes.input.payloads[0]
    with pytest.raises(
        DataKeyDestroyed, match=r"erased: payload of .* destroyed at .* by dpo@programme\.example"
    ):
        await decoded_payload(converter, started)
    closed_runs = await fetch_chain(dev_env.client, closed_id)
    sealed = closed_runs[0].events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert address.encode() not in closed_runs[0].events[0].SerializeToString()

    # Neither the CLI nor the codec server can read the closed collaboration any more.
    async with run_worker(dev_env.client):  # the status query is answered by a worker
        shown = await asyncio.to_thread(passerelle, dev_env.client, "status", closed_id)
    assert shown.returncode != 0 and "erased" in shown.stderr and "Traceback" not in shown.stderr, shown
    codec = converter.payload_codec
    assert codec is not None
    port = free_port()
    runner = await start_codec_server(codec, ["http://localhost:8233"], "127.0.0.1", port)
    try:
        body = json_format.MessageToJson(Payloads(payloads=[sealed]))
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"http://127.0.0.1:{port}/decode", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                answer = await response.json()
        assert response.status == 400 and answer["error"].startswith("erased:"), answer
    finally:
        await runner.cleanup()

    # Audit: the erasure is named, the business facts still check against the pseudonymised rows.
    for workflow_id in (running_id, closed_id):
        verified = passerelle(dev_env.client, "audit", "verify", workflow_id)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "erased    run 1" in verified.stdout and "by dpo@programme.example" in verified.stdout
        assert "all in Postgres once" in verified.stdout
        assert "row(s) of erased runs, checked against their metadata" in verified.stdout
    # What remains is still checked: a row of an erased run taken away is missed.
    await pool.execute("DELETE FROM milestones WHERE workflow_id = $1 AND kind = 'closed'", closed_id)
    tampered = passerelle(dev_env.client, "audit", "verify", closed_id)
    assert tampered.returncode == 1 and "missing" in tampered.stdout, tampered.stdout
    timeline = passerelle(dev_env.client, "audit", "timeline", closed_id, "--format", "md")
    assert timeline.returncode == 0, timeline.stderr
    assert "erased" in timeline.stdout and "GDPR request 42" in timeline.stdout
    replayed = passerelle(dev_env.client, "audit", "replay", running_id, closed_id)
    for shown_output in (dry, done, shown, verified, timeline, replayed):  # `pytest -s` shows a DPO's session
        print(shown_output.args[1:], shown_output.stdout, shown_output.stderr, sep="\n")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "erased 2" in replayed.stdout and "replayed 1, passed 1" in replayed.stdout

    # The store's view: every key the closed chain had is destroyed (a query of it since, failing,
    # sealed its failure under a new one), and the running chain kept only its new key.
    store = store_for(settings)
    assert store is not None
    assert all(
        k["destroyed_at"] is not None
        for k in await store.chain(closed_id)
        if k["created_at"] < record["erased_at"]
    )
    live = [k for k in await store.chain(running_id) if k["destroyed_at"] is None]
    assert len(live) == 1
    export = tmp_path / "after.json"
    again = passerelle(dev_env.client, "privacy", "export", "--email", address, "--out", str(export))
    assert again.returncode == 0, again.stderr
    assert json.loads(export.read_text())["collaboration_ids"] == []
