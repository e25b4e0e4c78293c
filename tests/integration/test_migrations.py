"""Migrations: ordered, applied once, safe when two workers start at the same moment."""

import asyncio
import uuid

import asyncpg

from passerelle.platform.db import migrate, migration_files


async def test_two_concurrent_migrations_apply_each_file_once(postgres_url: str, pool: asyncpg.Pool) -> None:
    """Two processes migrating a fresh database at once: one applies, the other finds it done."""
    name = f"db_{uuid.uuid4().hex[:12]}"
    await pool.execute(f'CREATE DATABASE "{name}"')  # a name we made: no user input here
    url = postgres_url.replace("/postgres?", f"/{name}?")
    first, second = await asyncio.gather(migrate(url), migrate(url))
    versions = [v for v, _ in migration_files()]
    assert sorted([first, second], key=len) == [[], versions]
    conn = await asyncpg.connect(url)
    try:
        applied = [
            r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        ]
        assert applied == versions
        assert await migrate(url) == []
    finally:
        await conn.close()
