"""The least-privilege worker role of `deploy/worker_role.sql` runs every activity, and no more."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.digest import DigestActivities
from activities.kpis import KpiActivities
from passerelle.platform.db import create_pool, migrate
from passerelle.platform.scope import RowScope
from passerelle.reads.kpis import read_report
from schemas import KpiFilters
from schemas.addresses import address_pattern
from tests.conftest import WorkerFactory
from tests.faults.helpers import assert_exact_rows, full_lifecycle

ROLE_SQL = Path(__file__).parents[2] / "deploy" / "worker_role.sql"


@pytest_asyncio.fixture(loop_scope="session")
async def worker_url(pool: asyncpg.Pool, postgres_url: str) -> AsyncIterator[str]:
    """Create the role and grant its rights as documented (twice: idempotent); yield its URL."""
    for _ in range(2):
        await pool.execute(ROLE_SQL.read_text())
        await migrate(postgres_url, worker_role="passerelle_worker")
    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(netloc=f"passerelle_worker@{parts.hostname or ''}"))


async def test_worker_activities_run_as_the_least_privilege_role(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, worker_url: str, task_queue: str
) -> None:
    """Start-up check and a full lifecycle (records, outbox, deliveries) as `passerelle_worker`."""
    assert await migrate(worker_url) == [], "nothing pending: the worker's start-up check needs no DDL"
    role_pool = await create_pool(worker_url, max_size=4)
    try:
        assert await role_pool.fetchval("SELECT current_user") == "passerelle_worker"
        wid = f"role-{uuid.uuid4().hex[:8]}"
        async with run_worker(dev_env.client, pool=role_pool):
            status = await full_lifecycle(dev_env.client, wid, task_queue)
        assert status.outcome == "deployed"
        deliveries = await assert_exact_rows(role_pool, [wid])
        assert deliveries and all(d["status"] == "sent" for d in deliveries)
    finally:
        await role_pool.close()


async def test_the_digest_reads_run_as_the_least_privilege_role(worker_url: str) -> None:
    """The daily digest's activities (stalled list, KPI header over the views) need no more rights."""
    role_pool = await create_pool(worker_url, max_size=2)
    try:
        summary = await KpiActivities(role_pool).kpi_summary(None)
        stalled = await DigestActivities(role_pool).list_stalled(None)
        report = await read_report(role_pool, KpiFilters(), RowScope(None))
        every_view = await role_pool.fetch(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
        )
        for view in every_view:
            await role_pool.fetch(f'SELECT * FROM "{view["table_name"]}" LIMIT 1')
    finally:
        await role_pool.close()
    assert summary.open == sum(summary.open_by_stage.values()) and isinstance(stalled, list)
    assert len(report.stages) == 5 and len(every_view) == 12


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM milestones",
        "UPDATE milestones SET note = 'rewritten'",
        "TRUNCATE deliveries",
        "DROP TABLE collaborations",
        "CREATE TABLE loot (x int)",
        "INSERT INTO schema_migrations (version) VALUES ('9999_forged')",
    ],
)
async def test_the_worker_role_cannot_rewrite_history_or_change_the_schema(
    worker_url: str, statement: str
) -> None:
    """History is append-only for the worker: no DELETE, no UPDATE of milestones, no DDL."""
    conn = await asyncpg.connect(worker_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_pending_migrations_tell_the_worker_role_to_ask_the_owner(
    pool: asyncpg.Pool, worker_url: str
) -> None:
    """On a database not yet migrated, the worker role's start-up says who must migrate."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    fresh = worker_url.replace("/postgres?", f"/{name}?")
    with pytest.raises(SystemExit, match="run `passerelle migrate` as the owner role"):
        await migrate(fresh)


async def test_the_worker_role_pseudonymises_closed_collaborations_only(
    pool: asyncpg.Pool, worker_url: str
) -> None:
    """The retention sweep's one way to change rows refuses an open collaboration and any pattern
    but a whole address's, and the role cannot call the general pseudonymisation function at all."""
    cids = {state: f"{state}-{uuid.uuid4().hex[:8]}" for state in ("open", "closed")}
    for state, cid in cids.items():
        await pool.execute(
            "INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,"
            " topic, stage, stage_since, outcome, stalled, paused, started_at, updated_at, last_seq)"
            " VALUES ($1, $1, 'C', 'S', 'P', 'health', 'write to b@b.example', 'pilot', now(), $2, false,"
            " false, now(), now(), 0)",
            cid,
            "declined" if state == "closed" else None,
        )
    address = "a@b.example"
    whole = {address: {"pseudonym": "erased:0123456789ab", "pattern": address_pattern(address)}}
    # Literal in appearance, yet each would reach beyond the address: any character, any text.
    for wider in (address_pattern(address).replace("\\.", "."), ".*", address_pattern("b@b.example")):
        assert not await pool.fetchval("SELECT address_pattern_fits($1, $2)", wider, address), wider
    conn = await asyncpg.connect(worker_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="is not closed: retention leaves it alone"):
            await conn.execute(
                "SELECT retention_pseudonymise($1, $2::jsonb, 0)", cids["open"], json.dumps(whole)
            )
        for wider in (".*", address_pattern("b@b.example")):
            forged = {address: {"pseudonym": "erased:0123456789ab", "pattern": wider}}
            with pytest.raises(asyncpg.RaiseError, match="only a whole e-mail address is pseudonymised"):
                await conn.execute(
                    "SELECT retention_pseudonymise($1, $2::jsonb, 0)", cids["closed"], json.dumps(forged)
                )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "SELECT * FROM pseudonymise_rows(NULL, $1, $2, 'erased:0123456789ab')",
                address,
                address_pattern(address),
            )
    finally:
        await conn.close()
    assert await pool.fetchval(
        "SELECT topic FROM collaborations WHERE collaboration_id = $1", cids["closed"]
    ) == ("write to b@b.example")
