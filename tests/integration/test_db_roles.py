"""The compose database roles: the owner migrates, the workers' role touches rows only."""

import asyncpg
import pytest

from passerelle.platform.db import migrate
from schemas.records import EventKind
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


async def test_a_new_kind_of_event_needs_no_migration_of_its_own(postgres_url: str) -> None:
    """The kinds a row may have are `EventKind`'s: `migrate` adds one the table lacks (as after
    a release that records a new kind), leaves the other kinds and the rows alone, a worker role
    may not add one (one line, naming it), and the database refuses a row of an unknown kind."""
    roles = create_roles(postgres_url)
    assert await migrate(roles.owner, worker_role=roles.worker_role)
    owner = await asyncpg.connect(roles.owner)
    try:
        kinds = {r["kind"] for r in await owner.fetch("SELECT kind FROM event_kinds")}
        assert kinds == {k.value for k in EventKind}
        await owner.execute("DELETE FROM event_kinds WHERE kind = 'contact_erased'")  # as before its release
        with pytest.raises(SystemExit, match="event kinds contact_erased are pending"):
            await migrate(roles.worker)
        assert await migrate(roles.owner) == []  # no migration pending; the kind is added
        after = {r["kind"] for r in await owner.fetch("SELECT kind FROM event_kinds")}
        assert after == kinds
        await owner.execute(
            "INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,"
            " topic, stage, stage_since, stalled, paused, started_at, updated_at, last_seq) VALUES ('c', 'w',"
            " 'A', 'B', 'P', 'S', 'T', 'introduction', now(), false, false, now(), now(), 1)"
        )
        row = "INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, actor, note,"
        row += " occurred_at) VALUES ('c', $1, 'w', 'r', $2, 'introduction', 'ops', '', now())"
        await owner.execute(row, 1, "contact_erased")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await owner.execute(row, 2, "contact_erasedx")
    finally:
        await owner.close()
