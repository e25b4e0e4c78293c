"""The compose database roles: the owner migrates, the workers' role touches rows only."""

import asyncpg
import pytest

from passerelle.platform.db import migrate
from tests.integration.roles import create_roles, run_script


async def test_worker_role_reads_and_writes_rows_but_cannot_change_the_schema(postgres_url: str) -> None:
    """After the compose `migrate` job, the worker role starts (no DDL) and touches rows only.

    The grant step also takes back wider rights an older set-up gave (default privileges).
    """
    roles = create_roles(postgres_url)
    owner = await asyncpg.connect(roles.owner)
    try:  # as an older compose set-up did: every table of the owner fully writable by the worker
        await owner.execute(
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO "{roles.worker_role}"'
        )
    finally:
        await owner.close()
    assert await migrate(roles.owner, worker_role=roles.worker_role), "the owner applied the migrations"
    assert await migrate(roles.owner, worker_role=roles.worker_role) == [], "granting again is harmless"
    assert await migrate(roles.worker) == [], "a worker's start-up migrate check needs no DDL"
    conn = await asyncpg.connect(roles.worker)
    try:
        assert await conn.fetchval("SELECT count(*) FROM milestones") == 0
        assert await conn.fetch("SELECT * FROM kpi_current_stages") == []
        for statement in (
            "CREATE TABLE intruder (id int)",
            "DROP TABLE milestones",
            "DELETE FROM milestones",
            "UPDATE milestones SET note = 'rewritten'",
            "UPDATE notifications SET event = 'x'",
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
