"""Erasure, access, audit and import stay within the caller's programmes, through `passerelle` itself.

Two programmes of their own names per module: A, with a namespace of its own, and B, which runs
in the shared namespace. Both hold a collaboration of one workflow id (two namespaces may each run
one), and A also one started in the shared namespace, as before it had a namespace. The people
are an admin, an operator and an auditor of A only, each with a token from a real OpenID provider
and a real codec server between their `passerelle` and the keys: what they erase, export, audit
and import is A's, and B's is refused in one line, or untouched.
"""

import asyncio
import csv
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.audit.histories import MANIFEST
from passerelle.intake.rows import COLUMNS
from passerelle.platform.client import client_in, local_codec_for
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.oidc_device import save_tokens
from passerelle.platform.provision import add_search_attributes, register_programme, until_served
from passerelle.platform.settings import Settings
from passerelle.platform.worker import build_worker
from schemas.actors import programme_slug
from tests.e2e.cli import Result, assert_one_line_error, cli_env, passerelle
from tests.integration.processes import free_port
from tests.oidc.logins import AUDIENCE, device_login, keyless_cli_env, login_settings_for
from tests.oidc.server import oidc_provider
from tests.workflows.helpers import abandon, latest_status, start

TAG = uuid.uuid4().hex[:8]
A, B = f"Atelier {TAG}", f"Bastide {TAG}"
SLUG_A, SLUG_B = programme_slug(A), programme_slug(B)
PEOPLE = {
    "ada": {"email": f"ada.{TAG}@atelier.example", "roles": [f"{SLUG_A}:admin"]},
    "otto": {"email": f"otto.{TAG}@atelier.example", "roles": [f"{SLUG_A}:operator"]},
    "aude": {"email": f"aude.{TAG}@atelier.example", "roles": [f"{SLUG_A}:auditor"]},
}
NOT_YOURS = "not found in your programmes"


@dataclass
class World:
    """The servers, the programmes' namespaces and each person's `passerelle` environment."""

    env: WorkflowEnvironment
    pool: asyncpg.Pool
    task_queue: str
    namespace_a: str
    shared: str
    environs: dict[str, dict[str, str]]

    @property
    def client_a(self) -> Client:
        return client_in(self.env.client, self.namespace_a)

    @property
    def shared_client(self) -> Client:
        return self.env.client

    async def run(self, person: str, *args: str) -> Result:
        return await passerelle(self.environs[person], *args, wait=180)


@pytest.fixture(scope="module")
async def world(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    namespace_a = settings.namespaces.of(A)
    await register_programme(dev_env.client, A, namespace_a, 1)
    own = client_in(dev_env.client, namespace_a)
    await until_served(own)
    await add_search_attributes(own)
    task_queue = f"tq-{uuid.uuid4()}"
    working = replace(settings, task_queue=task_queue)
    home = tmp_path_factory.mktemp("people")
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(PEOPLE)}) as provider:
        port = free_port()
        auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE)
        runner = await start_codec_server(local_codec_for(settings), [], "127.0.0.1", port, auth)
        base = cli_env(dev_env, task_queue)
        environs = {}
        for person in PEOPLE:
            login = login_settings_for(provider, home / person / "config" / "passerelle")
            save_tokens(login.cache_path(), await device_login(provider, person))
            laptop = keyless_cli_env(base, f"http://127.0.0.1:{port}", provider, home / person)
            # The database says whose each collaboration is; an erasure needs the keys too.
            laptop["PASSERELLE_DATABASE_URL"] = base["PASSERELLE_DATABASE_URL"]
            if person == "ada":
                laptop["PASSERELLE_ENCRYPTION_KEYS"] = os.environ["PASSERELLE_ENCRYPTION_KEYS"]
            environs[person] = laptop
        try:
            channels = [LogChannel()]
            async with (
                build_worker(dev_env.client, pool, working, channels),
                build_worker(own, pool, working, channels),
            ):
                yield World(dev_env, pool, task_queue, namespace_a, dev_env.client.namespace, environs)
        finally:
            await runner.cleanup()


@dataclass
class Spread:
    """The collaborations of one test, each naming `address` as the start-up's contact."""

    address: str
    same_id: str  # run by A in its namespace and by B in the shared one
    a: WorkflowHandle[Any, Any]  # A's, in A's namespace
    a_closed: WorkflowHandle[Any, Any]  # A's, closed
    a_old: WorkflowHandle[Any, Any]  # A's, in the shared namespace (started before A had one)
    b: WorkflowHandle[Any, Any]  # B's, of the same workflow id as `a`
    b_only: WorkflowHandle[Any, Any]  # B's, of an id A does not use

    @property
    def ids_a(self) -> list[str]:
        return sorted(h.result_run_id or "" for h in (self.a, self.a_closed, self.a_old))

    @property
    def ids_b(self) -> list[str]:
        return sorted(h.result_run_id or "" for h in (self.b, self.b_only))


async def spread(world: World, name: str) -> Spread:
    """Start the test's collaborations and wait until PostgreSQL records them."""
    address = f"{name}.{uuid.uuid4().hex[:6]}@nabla.example"
    same = f"collab-{name}-{uuid.uuid4().hex[:6]}"
    startup = {"name": "Nabla", "contact_email": address, "label": "Next40"}
    q = world.task_queue
    a = await start(world.client_a, same, q, programme=A, startup=startup)
    a_closed = await start(world.client_a, f"{same}-closed", q, programme=A, startup=startup)
    a_old = await start(world.shared_client, f"{same}-old", q, programme=A, startup=startup)
    b = await start(world.shared_client, same, q, programme=B, startup=startup)
    b_only = await start(world.shared_client, f"{same}-b", q, programme=B, startup=startup)
    await abandon(a_closed)
    found = Spread(address, same, a, a_closed, a_old, b, b_only)
    ids = found.ids_a + found.ids_b
    for _ in range(300):
        recorded = await world.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE collaboration_id = ANY($1::text[]) AND event = 'started'",
            ids,
        )
        if recorded == len(ids):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the collaborations were not recorded")


ROWS = {
    "collaborations": "SELECT t::text FROM collaborations t WHERE collaboration_id = ANY($1) ORDER BY 1",
    "milestones": "SELECT t::text FROM milestones t WHERE collaboration_id = ANY($1) ORDER BY 1",
    "notifications": "SELECT t::text FROM notifications t WHERE collaboration_id = ANY($1) ORDER BY 1",
}


async def rows_of(pool: asyncpg.Pool, ids: list[str]) -> dict[str, list[str]]:
    return {table: [r[0] for r in await pool.fetch(query, ids)] for table, query in ROWS.items()}


async def keys_of(pool: asyncpg.Pool, programme: str, workflow_id: str) -> list[tuple[str, bool]]:
    rows = await pool.fetch(
        "SELECT key_id, destroyed_at IS NULL AS live FROM data_keys"
        " WHERE programme = $1 AND workflow_id = $2 ORDER BY generation",
        programme,
        workflow_id,
    )
    return [(r["key_id"], r["live"]) for r in rows]


async def test_an_admin_of_a_erases_an_address_in_a_and_leaves_it_in_b(world: World) -> None:
    found = await spread(world, "erase")
    address, same = found.address, found.same_id
    b_rows = await rows_of(world.pool, found.ids_b)
    b_keys = await keys_of(world.pool, "", same)
    assert address in json.dumps(b_rows) and b_keys

    erase = (
        "privacy",
        "erase",
        "--email",
        address,
        "--by",
        PEOPLE["ada"]["email"],
        "--reason",
        f"request {TAG}",
    )
    dry = await world.run("ada", *erase, "--dry-run")
    assert dry.code == 0, dry
    assert f"within programme(s) {SLUG_A} only" in dry.out
    for shown in (f"{SLUG_A}/{same} (", f"{SLUG_A}/{same}-closed (", f"  {same}-old ("):
        assert shown in dry.out, (shown, dry.out)
    assert f"  {same} (" not in dry.out and f"{same}-b" not in dry.out, "B's collaborations are not A's"
    for cid in found.ids_b:
        assert cid not in dry.out

    elsewhere = await world.run("ada", "--programme", SLUG_B, *erase)
    assert_one_line_error(elsewhere, 1, f"no role in programme {SLUG_B}")

    done = await world.run("ada", *erase)
    assert done.code == 0, done
    assert "2 running collaboration(s) re-keyed, 1 closed one(s) shredded" in done.out, done.out

    # A's: its rows name the address no more, its chains moved to new keys or were shredded.
    assert address not in json.dumps(await rows_of(world.pool, found.ids_a))
    assert [live for _, live in await keys_of(world.pool, SLUG_A, same)].count(True) == 1
    assert not any(live for _, live in await keys_of(world.pool, SLUG_A, f"{same}-closed"))
    assert [live for _, live in await keys_of(world.pool, "", f"{same}-old")].count(True) == 1
    status = await latest_status(world.client_a, same)
    assert status.runs == 2 and [h.kind.value for h in status.history][-1] == "contact_erased"
    record = await world.pool.fetchrow(
        "SELECT programmes, workflow_ids FROM erasures WHERE reason = $1", f"request {TAG}"
    )
    assert record["programmes"] == [SLUG_A]
    assert sorted(record["workflow_ids"]) == sorted(
        [f"{SLUG_A}/{same}", f"{SLUG_A}/{same}-closed", f"{same}-old"]
    )

    # B's: the same address, and the same workflow id, byte for byte as they were.
    assert await rows_of(world.pool, found.ids_b) == b_rows
    assert await keys_of(world.pool, "", same) == b_keys
    b_status = await latest_status(world.shared_client, same)
    assert b_status.runs == 1 and "contact_erased" not in [h.kind.value for h in b_status.history]
    for client, workflow_id in (
        (world.client_a, same),
        (world.shared_client, f"{same}-old"),
        (world.shared_client, same),
        (world.shared_client, f"{same}-b"),
    ):
        await abandon(client.get_workflow_handle(workflow_id))


async def test_an_admin_of_a_exports_what_a_holds_and_nothing_of_b(world: World, tmp_path: Path) -> None:
    found = await spread(world, "access")
    out = tmp_path / "access.json"
    done = await world.run("ada", "privacy", "export", "--email", found.address, "--out", str(out))
    assert done.code == 0, done
    document = json.loads(out.read_text())
    assert document["programmes"] == [SLUG_A]
    assert sorted(document["collaboration_ids"]) == found.ids_a
    assert {p["collaboration_id"] for p in document["temporal"]} == set(found.ids_a), (
        "each read where it runs"
    )
    for table, rows in document["postgresql"].items():
        assert not {r.get("collaboration_id") for r in rows} & set(found.ids_b), table
    for handle in (found.a, found.a_old, found.b, found.b_only):
        await abandon(handle)


async def test_an_auditor_of_a_audits_a_and_not_b(world: World, tmp_path: Path) -> None:
    found = await spread(world, "audit")
    same, a_id = found.same_id, found.a.result_run_id or ""

    timeline = await world.run("aude", "audit", "timeline", same)
    assert timeline.code == 0, timeline
    assert a_id in timeline.out and found.b.result_run_id not in timeline.out, "A's, from A's namespace"
    verified = await world.run("aude", "audit", "verify", same)
    assert verified.code == 0 and "all in Postgres once" in verified.out, verified
    replayed = await world.run("aude", "audit", "replay", same, f"{same}-old")
    assert replayed.code == 0 and "replayed 2, passed 2" in replayed.out, replayed
    folder = tmp_path / "a"
    exported = await world.run("aude", "audit", "export", same, "--out", str(folder))
    assert exported.code == 0, exported
    manifest = json.loads((folder / MANIFEST).read_text())
    assert (manifest["namespace"], manifest["collaboration_id"]) == (world.namespace_a, a_id)

    # B's collaboration: refused as if it did not exist, by every command.
    b_only = f"{same}-b"
    for command in ("timeline", "verify", "replay", "export"):
        out = ("--out", str(tmp_path / "b")) if command == "export" else ()
        refused = await world.run("aude", "audit", command, b_only, *out)
        assert_one_line_error(refused, 1, f"{b_only}: {NOT_YOURS}")
    assert not (tmp_path / "b").exists()
    elsewhere = await world.run("aude", "--programme", SLUG_B, "audit", "timeline", same)
    assert_one_line_error(elsewhere, 1, f"no role in programme {SLUG_B}")
    # B's export, handed over as a folder, is refused too.
    b_folder = tmp_path / "b-export"
    keyed = {k: v for k, v in world.environs["aude"].items() if k != "PASSERELLE_CODEC_URL"}
    keyed["PASSERELLE_ENCRYPTION_KEYS"] = os.environ["PASSERELLE_ENCRYPTION_KEYS"]
    made = await passerelle(keyed, "audit", "export", b_only, "--out", str(b_folder))
    assert made.code == 0, made
    # A key holder names the programme of a workflow id two programmes use, and replays A's with
    # the data keys of A's namespace.
    both = await passerelle(keyed, "audit", "replay", same)
    assert_one_line_error(both, 1, f"({SLUG_A}, {SLUG_B}): choose one with --programme")
    keyed_a = await passerelle(keyed, "--programme", SLUG_A, "audit", "replay", same)
    assert keyed_a.code == 0 and "replayed 1, passed 1" in keyed_a.out, keyed_a
    assert_one_line_error(await world.run("aude", "audit", "timeline", str(b_folder)), 1, NOT_YOURS)
    # A query in the shared namespace finds B's workflow of A's id: a key holder replays it, the
    # auditor of A keeps none of it.
    query = f'WorkflowId = "{same}"'
    everyone = await passerelle(keyed, "audit", "replay", "--query", query)
    assert everyone.code == 0 and "replayed 1, passed 1" in everyone.out, everyone
    queried = await world.run("aude", "--shared", "audit", "replay", "--query", query)
    assert queried.code == 1 and "replayed 0" in queried.out, queried
    for handle in (found.a, found.a_old, found.b, found.b_only):
        await abandon(handle)


def sheet(*rows: tuple[str, str]) -> str:
    """Return an import file with one row per (programme, start-up)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for programme, startup in rows:
        writer.writerow(
            {
                **dict.fromkeys(COLUMNS, ""),
                "corporate": "Natixis",
                "corporate_email": "innovation@natixis.example",
                "startup": startup,
                "startup_email": f"partners@{startup.lower()}.example",
                "programme": programme,
                "topic": "Clinical note summarisation pilot",
                "sector": "health",
                "owner_email": "operator@programme.example",
                "language": "fr",
                "stage": "introduction",
                "introduction_date": "2026-01-05",
            }
        )
    return out.getvalue()


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


async def test_an_operator_of_a_imports_into_a_and_not_into_b(world: World, tmp_path: Path) -> None:
    startup = f"Imp{uuid.uuid4().hex[:6]}"
    workflow_id = f"collab-natixis-{startup.lower()}"
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(sheet((A, startup), (B, f"{startup}b")))
    refused = await world.run("otto", "import", str(mixed))
    assert_one_line_error(refused, 2, "mixed.csv, row 3", repr(B), "nothing was imported")
    assert not await exists(world.client_a, workflow_id) and not await exists(
        world.shared_client, workflow_id
    )
    only_a = tmp_path / "a.csv"
    only_a.write_text(sheet((A, startup)))
    elsewhere = await world.run("otto", "--programme", SLUG_B, "import", str(only_a))
    assert_one_line_error(elsewhere, 1, f"no role in programme {SLUG_B}")

    done = await world.run("otto", "import", str(only_a))
    assert done.code == 0 and "1 started" in done.out, done
    assert await exists(world.client_a, workflow_id), "in A's own namespace"
    assert not await exists(world.shared_client, workflow_id)
    recorded = await world.pool.fetchrow(
        "SELECT namespace, programme_slug FROM collaborations WHERE workflow_id = $1", workflow_id
    )
    assert (recorded["namespace"], recorded["programme_slug"]) == (world.namespace_a, SLUG_A)
    await abandon(world.client_a.get_workflow_handle(workflow_id))
