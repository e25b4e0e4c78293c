"""An erasure that fails half-way says where, and the same command run again finishes it.

Two twin families of collaborations (a running and a closed one naming an address in contacts,
actors and notes) on a real Temporal and PostgreSQL, through the installed CLI. One twin is
erased in one clean run; the other is interrupted twice (its closed collaboration's keys cannot
be destroyed, then the database refuses the pseudonymisation), each time with one line naming the
collaboration or PostgreSQL and the step, then finished by a rerun. The two end states are the
same: no second re-key, no second `contact_erased`, the same counts in the `erasures` row. And
`--dry-run` lists exactly the rows the real run changes.
"""

import asyncio
import json
import re
import uuid
from typing import Any

import asyncpg
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import store_for
from passerelle.platform.settings import Settings
from schemas import Closure, MilestoneRequest, Outcome
from schemas.addresses import map_strings
from schemas.privacy import pseudonym_of
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.privacy_rows import settled
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

# The texts an erasure may change, per table, keyed by row: the rows a dry run must list.
PERSONAL = {
    "collaborations": (
        "SELECT collaboration_id, concat_ws('|', corporate, startup, programme, topic, startup_label,"
        " corporate_email, startup_email, owner_email) FROM collaborations WHERE workflow_id = ANY($1)"
    ),
    "milestones": (
        "SELECT collaboration_id || '/' || seq, concat_ws('|', actor, note, evidence_url, details::text)"
        " FROM milestones WHERE workflow_id = ANY($1)"
    ),
    "notifications": (
        "SELECT idempotency_key, recipients::text || '|' || context::text FROM notifications"
        " WHERE workflow_id = ANY($1)"
    ),
    "deliveries": (
        "SELECT d.idempotency_key || ' ' || d.channel, concat_ws('|', d.result, d.last_error)"
        " FROM deliveries d JOIN notifications n USING (idempotency_key) WHERE n.workflow_id = ANY($1)"
    ),
}
INSTANT = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(?:[+-]\d\d:?\d\d|Z)?")
KEY_ID = re.compile(r"\b[0-9a-f]{24}\b")  # a data key's id (`schemas.privacy.DataKeyId`)
REFUSE = """
CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected: the database refused'; END; $$
"""


async def seed(env: WorkflowEnvironment, task_queue: str, address: str, tag: str) -> list[str]:
    """Start a running and a closed collaboration naming `address`; return their workflow ids."""
    running_id, closed_id = f"resume-{tag}-running", f"resume-{tag}-closed"
    startup = {"name": "Nabla", "label": "Next40", "contact_email": address}
    running = await start(env.client, running_id, task_queue, startup=startup)
    await running.execute_update(
        CollaborationWorkflow.record_milestone,
        MilestoneRequest(kind="call", by=address, note=f"Ask {address} for the deck"),
    )
    closed = await start(env.client, closed_id, task_queue, startup=startup)
    await closed.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason=f"{address} left")
    )
    await closed.result()
    return [running_id, closed_id]


async def personal_rows(pool: asyncpg.Pool, workflow_ids: list[str]) -> dict[tuple[str, str], str]:
    """Return each row's personal texts, keyed by `(table, row key)`."""
    return {
        (table, r[0]): r[1]
        for table, query in PERSONAL.items()
        for r in await pool.fetch(query, workflow_ids)
    }


def listed_rows(dry_run: str) -> set[tuple[str, str]]:
    """Return the `(table, row key)` pairs a dry run lists for the collaborations."""
    found = set()
    for cid, table, keys in re.findall(r"^    (\S+) (\w+): (.+)$", dry_run, flags=re.MULTILINE):
        for key in keys.split(", "):
            found.add((table, cid if key == "its row" else f"{cid}/{key.removeprefix('#')}"))
    return found


async def end_state(pool: asyncpg.Pool, pseudonym: str, workflow_ids: list[str], tag: str) -> dict[str, Any]:
    """Return what an erasure leaves, with the names and ids that differ between twins taken out."""
    record = await pool.fetchrow("SELECT * FROM erasures WHERE pseudonym = $1", pseudonym)
    steps = {
        wid.replace(tag, "TAG"): {k: v for k, v in step.items() if k != "key"}
        for wid, step in record["steps"].items()
    }
    keys = [
        (r["workflow_id"].replace(tag, "TAG"), r["generation"], r["destroyed_at"] is None)
        for r in await pool.fetch(
            "SELECT * FROM data_keys WHERE workflow_id = ANY($1) ORDER BY workflow_id, generation",
            workflow_ids,
        )
    ]
    kinds = [
        (r["workflow_id"].replace(tag, "TAG"), r["seq"], r["kind"])
        for r in await pool.fetch(
            "SELECT * FROM milestones WHERE workflow_id = ANY($1) ORDER BY workflow_id, seq", workflow_ids
        )
    ]
    return {
        "finished": record["finished_at"] is not None,
        "counts": (record["rows_changed"], record["keys_destroyed"], len(record["workflow_ids"])),
        "changed_rows": record["changed_rows"],
        "steps": steps,
        "keys": keys,
        "kinds": kinds,
        "rows": sorted(
            t.replace(pseudonym, "PSEUDONYM") for t in (await personal_rows(pool, workflow_ids)).values()
        ),
    }


def normalised(state: dict[str, Any], tag: str, ids: dict[str, str]) -> Any:
    """Return `state` with the twin's tag and collaboration ids replaced by placeholders."""

    def placeholders(text: str) -> str:
        for cid, name in ids.items():
            text = text.replace(cid, name)
        return KEY_ID.sub("<key>", INSTANT.sub("<instant>", text.replace(tag, "TAG")))

    return map_strings(json.loads(json.dumps(state, default=str)), placeholders)


async def test_an_interrupted_erasure_finishes_on_a_rerun_as_one_clean_run(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
) -> None:
    twins = {name: uuid.uuid4().hex[:8] for name in ("clean", "resumed")}
    addresses = {name: f"ana.{tag}@nabla.example" for name, tag in twins.items()}
    async with run_worker(dev_env.client):
        ids = {name: await seed(dev_env, task_queue, addresses[name], tag) for name, tag in twins.items()}
        await settled(pool, [*ids["clean"], *ids["resumed"]])
        before = await personal_rows(pool, ids["clean"])

        def erase(name: str, *extra: str) -> Any:
            args = (
                "privacy",
                "erase",
                "--email",
                addresses[name],
                "--by",
                "dpo",
                "--reason",
                "GDPR 42",
                *extra,
            )
            return passerelle(dev_env.client, *args)

        dry = await asyncio.to_thread(erase, "clean", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        clean = await asyncio.to_thread(erase, "clean")
        assert clean.returncode == 0, clean.stdout + clean.stderr
        after = await personal_rows(pool, ids["clean"])
        changed = {key for key, text in before.items() if after.get(key) != text}
        assert changed and listed_rows(dry.stdout) == changed, (dry.stdout, changed)
        recorded = await pool.fetchval(
            "SELECT changed_rows FROM erasures WHERE pseudonym = $1",
            pseudonym_of(addresses["clean"], settings_secret(settings)),
        )
        assert set(recorded) >= {f"{table} {key}" for table, key in changed}, "the record names every row"
        assert f"{len(recorded)} row(s) pseudonymised" in clean.stdout

        # The closed collaboration's keys cannot be destroyed: the running one is re-keyed all the same.
        running_id, closed_id = ids["resumed"]
        await pool.execute(REFUSE)
        await pool.execute(
            "CREATE TRIGGER test_refuse BEFORE UPDATE ON data_keys FOR EACH ROW"
            f" WHEN (OLD.workflow_id = '{closed_id}') EXECUTE FUNCTION test_refuse()"
        )
        try:
            first = await asyncio.to_thread(erase, "resumed")
        finally:
            await pool.execute("DROP TRIGGER test_refuse ON data_keys")
        assert first.returncode == 1, first.stdout + first.stderr
        error = first.stderr.strip()
        assert "\n" not in error and "Traceback" not in error, error
        assert f"{closed_id} at destroy data keys: injected: the database refused" in error
        assert error.endswith("run the same command again to finish it"), error
        assert running_id not in error and f"{running_id}: contact replaced" in first.stdout

        # Then PostgreSQL refuses the erasure's last transaction (its rows and its record).
        await pool.execute(
            "CREATE TRIGGER test_refuse BEFORE UPDATE ON erasures FOR EACH ROW"
            " WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL) EXECUTE FUNCTION test_refuse()"
        )
        try:
            second = await asyncio.to_thread(erase, "resumed")
        finally:
            await pool.execute("DROP TRIGGER test_refuse ON erasures")
        assert second.returncode == 1, second.stdout + second.stderr
        assert "is not finished: this run will finish it" in second.stdout
        assert "PostgreSQL at pseudonymise rows: injected: the database refused" in second.stderr
        assert "\n" not in second.stderr.strip()

        third = await asyncio.to_thread(erase, "resumed")
        assert third.returncode == 0, third.stdout + third.stderr
        assert "is not finished: this run will finish it" in third.stdout
        assert "1 running collaboration(s) re-keyed, 1 closed one(s) shredded" in third.stdout, third.stdout
        again = await asyncio.to_thread(erase, "resumed")
        assert again.returncode == 0 and "nothing names this address: nothing to erase" in again.stdout
        for name in twins:
            await dev_env.client.get_workflow_handle(ids[name][0]).execute_update(
                CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="over")
            )
        await settled(pool, [*ids["clean"], *ids["resumed"]])

    states = {}
    for name, tag in twins.items():
        pseudonym = pseudonym_of(addresses[name], settings_secret(settings))
        state = await end_state(pool, pseudonym, ids[name], tag)
        cids = await pool.fetch(
            "SELECT collaboration_id, workflow_id FROM collaborations WHERE workflow_id = ANY($1)", ids[name]
        )
        states[name] = normalised(state, tag, {r[0]: r[1].replace(tag, "TAG") for r in cids})
        assert state["finished"] and addresses[name] not in repr(state)
    assert states["resumed"]["rows"] == states["clean"]["rows"]
    assert states["resumed"] == states["clean"]


def settings_secret(settings: Settings) -> bytes:
    """Return the pseudonyms' secret of the suite's key store."""
    store = store_for(settings)
    assert store is not None
    return store.pseudonym_secret
