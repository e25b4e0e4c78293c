"""`passerelle privacy export`: an address found everywhere it is, and nowhere else.

Four collaborations on a real Temporal (encrypted) and PostgreSQL: the address is a start-up's
contact in one, the owner and a milestone's actor in another, named in a note in a third, absent
from the fourth. The installed command's document is checked against a brute-force search of
every table's text and of every decrypted payload of every history.
"""

import json
import uuid
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain
from passerelle.audit.keys import payloads
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from passerelle.privacy.access import MILESTONES, NOTIFICATIONS, decoded_payload, like_pattern
from schemas import MilestoneRequest
from schemas.addresses import address_pattern
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.factories import EXAMPLE
from tests.workflows.helpers import abandon, start
from workflows.collaboration import CollaborationWorkflow

TABLES = ("collaborations", "milestones", "notifications", "deliveries", "portal_links")


async def test_an_access_request_finds_the_address_everywhere_and_nowhere_else(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    postgres_url: str,
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    address = f"ana.{tag}@nabla.example"
    ids = {name: f"privacy-{tag}-{name}" for name in ("contact", "owner", "note", "other")}
    async with run_worker(dev_env.client):
        handles = {
            "contact": await start(
                dev_env.client,
                ids["contact"],
                task_queue,
                # Stored with its capitals (an address keeps its local part's): found all the same.
                startup={**EXAMPLE["startup"], "contact_email": address.capitalize()},
            ),
            "owner": await start(dev_env.client, ids["owner"], task_queue, owner_email=address),
            "note": await start(dev_env.client, ids["note"], task_queue),
            "other": await start(dev_env.client, ids["other"], task_queue),
        }
        await handles["owner"].execute_update(
            CollaborationWorkflow.record_milestone, MilestoneRequest(kind="NDA signed", by=address)
        )
        await handles["note"].execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind="call", by="ops", note=f"Ask {address.upper()} for the deck"),
        )
        await handles["other"].execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind="call", by="ops", note="nothing personal"),
        )
        for handle in handles.values():
            await abandon(handle)

    out = tmp_path / "access.json"
    done = passerelle(
        dev_env.client, "privacy", "export", "--email", address, "--out", str(out), database_url=postgres_url
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    found = {r["workflow_id"] for r in document["postgresql"]["collaborations"]}
    assert found == {ids["contact"], ids["owner"], ids["note"]}
    assert "in 3 collaboration(s)" in done.stdout

    # PostgreSQL: every row whose text names the address is in the document, and only those.
    async with pool.acquire() as conn:
        for table, key in (
            ("milestones", ("collaboration_id", "seq")),
            ("notifications", ("idempotency_key",)),
        ):
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE {table}::text ILIKE $1", f"%{address}%")
            expected = {tuple(r[k] for k in key) for r in rows}
            listed = {tuple(r[k] for k in key) for r in document["postgresql"][table]}
            assert listed == expected and expected, table
    assert document["postgresql"]["deliveries"], "each listed notification brings its deliveries"

    # Temporal: every decrypted payload of those histories that names it, and only those.
    converter = converter_for(settings)
    expected_payloads = set()
    for workflow_id in ids.values():
        for run in await fetch_chain(dev_env.client, workflow_id):
            for event in run.events:
                for payload in payloads(event):
                    text = json.dumps(
                        await decoded_payload(converter, payload), default=str, ensure_ascii=False
                    )
                    if address in text.lower():
                        expected_payloads.add((workflow_id, run.run_id, event.event_id))
    listed_payloads = {(p["workflow_id"], p["run_id"], p["event_id"]) for p in document["temporal"]}
    assert listed_payloads == expected_payloads
    events = {(p["workflow_id"], p["event"]) for p in document["temporal"]}
    assert (ids["contact"], "workflow_execution_started") in events, "the start input names the contact"
    assert (ids["owner"], "workflow_execution_update_accepted") in events, "the update names its actor"
    raw = (await dev_env.client.get_workflow_handle(ids["contact"]).fetch_history()).events[0]
    assert address.encode() not in raw.SerializeToString(), "Temporal itself holds only ciphertext"


async def test_the_search_can_use_its_indexes_on_every_condition(pool: asyncpg.Pool) -> None:
    """With sequential scans off, each query is answered from indexes alone: every condition of
    its WHERE matches one of migration 0006's (a small table may still be read whole by choice)."""
    address = "ana@nabla.example"
    like, pattern = like_pattern(address), address_pattern(address)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plans = {
            (table, str(programmes)): await conn.fetch(f"EXPLAIN {query}", like, pattern, programmes)
            for table, query in (("notifications", NOTIFICATIONS), ("milestones", MILESTONES))
            for programmes in (None, ["coalition-next"])  # every programme, or within one
        }
    for table, rows in plans.items():
        plan = "\n".join(r[0] for r in rows)
        assert "Seq Scan" not in plan and "Index" in plan, (table, plan)
