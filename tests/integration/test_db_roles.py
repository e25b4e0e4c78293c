"""The compose database roles: the owner migrates, the workers' role touches rows only."""

import asyncpg
import pytest

from passerelle.db import migrate
from tests.integration.roles import create_roles, run_script


async def test_worker_role_reads_and_writes_rows_but_cannot_change_the_schema(postgres_url: str) -> None:
    """After `migrate` as owner, the worker role starts (no DDL) and cannot create, drop or delete."""
    roles = create_roles(postgres_url)
    assert await migrate(roles.owner), "the owner applied the migrations"
    assert await migrate(roles.worker) == [], "a worker's start-up migrate check needs no DDL"
    conn = await asyncpg.connect(roles.worker)
    try:
        assert await conn.fetchval("SELECT count(*) FROM milestones") == 0
        for statement in (
            "CREATE TABLE intruder (id int)",
            "DROP TABLE milestones",
            "DELETE FROM milestones",
            "TRUNCATE milestones",
            "ALTER TABLE milestones ADD COLUMN x int",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


def test_init_script_is_idempotent_and_needs_every_secret(postgres_url: str) -> None:
    """A second run changes nothing and succeeds; a missing password stops it before any SQL."""
    names = {
        "PASSERELLE_DB_NAME": "passerelle_idem",
        "PASSERELLE_DB_OWNER": "owner_idem",
        "PASSERELLE_DB_WORKER": "worker_idem",
        "TEMPORAL_DB_USER": "temporal_idem",
    }
    secrets = {
        "TEMPORAL_DB_PASSWORD": "a",
        "PASSERELLE_DB_OWNER_PASSWORD": "b",
        "PASSERELLE_DB_WORKER_PASSWORD": "c",
    }
    for _ in range(2):
        done = run_script(postgres_url, {**names, **secrets})
        assert done.returncode == 0, done.stderr
    missing = run_script(postgres_url, {**names, "TEMPORAL_DB_PASSWORD": "a"})
    assert missing.returncode != 0
    assert "PASSERELLE_DB_OWNER_PASSWORD" in missing.stderr
