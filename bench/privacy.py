"""Access requests: `passerelle privacy export`'s PostgreSQL search at 10,000 collaborations.

Seeds `n` collaborations the way the workflows write them (a `started` row, three milestones with
notes, one by an operator's address, and the introduction's and a stage change's notifications
to both parties), then times the search for one start-up contact (`database_rows`), warm, with
the indexes of `migrations/0006_privacy_indexes.sql`, against the same queries with index scans
switched off (the baseline a search without those indexes would be). The Temporal side reads
only the collaborations found: one history chain each, whatever `n`.
"""

import time

import asyncpg

from bench.common import Report, database, postgres, summary
from passerelle.privacy.access import database_rows

SEED = """
INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector, topic,
    stage, stage_since, outcome, stalled, paused, started_at, updated_at, last_seq)
SELECT 'c' || i, 'collab-' || i, 'Corporate ' || i, 'Startup ' || i, 'Bench', 'health', 'topic',
    'pilot', now(), NULL, false, false, now(), now(), 4
FROM generate_series(1, $1) AS i;
INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, milestone, actor, note,
    occurred_at, details)
SELECT 'c' || i, s, 'collab-' || i, 'r' || i, CASE WHEN s = 1 THEN 'started' ELSE 'milestone' END,
    'pilot', CASE WHEN s = 1 THEN NULL ELSE 'call' END,
    CASE WHEN s = 4 THEN 'operator' || (i % 50) || '@programme.example' ELSE 'system' END,
    'Comité de pilotage, prochaines étapes, budget ' || i || ' ' || repeat('notes ', 40),
    now(), CASE WHEN s = 3 THEN '{"scores": {"impact": 4}}'::jsonb END
FROM generate_series(1, $1) AS i, generate_series(1, 4) AS s;
INSERT INTO notifications (idempotency_key, collaboration_id, workflow_id, event, language,
    recipients, context)
SELECT 'c' || i || '/' || s || '/' || e, 'c' || i, 'collab-' || i, e, 'fr',
    jsonb_build_array(
        jsonb_build_object('name', 'Corporate ' || i, 'role', 'corporate',
            'email', 'innovation@corporate' || i || '.example'),
        jsonb_build_object('name', 'Startup ' || i, 'role', 'startup',
            'email', 'partners@startup' || i || '.example')),
    jsonb_build_object('actor', 'system', 'note', 'no news for 14 days', 'topic', 'topic ' || i)
FROM generate_series(1, $1) AS i, (VALUES (1, 'started'), (5, 'stage_changed')) AS v(s, e);
"""
NO_INDEXES = "SET enable_indexscan = off; SET enable_bitmapscan = off"
WITH_INDEXES = "RESET enable_indexscan; RESET enable_bitmapscan"


def address_of(n: int) -> str:
    """Return the start-up contact the benchmark looks for: one collaboration's, mid-table."""
    return f"partners@startup{n // 2}.example"


async def seed(conn: asyncpg.Connection, n: int) -> None:
    """Write the rows of `n` collaborations and refresh the planner's statistics."""
    await conn.execute(SEED.replace("$1", str(int(n))))  # one script: a count, never user input
    await conn.execute("ANALYZE")


async def _time(pool: asyncpg.Pool, address: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        rows = await database_rows(pool, address)
        samples.append(time.perf_counter() - began)
        assert rows["collaborations"], "the address belongs to one collaboration"
    return samples


async def run(n: int = 10_000, repeat: int = 20) -> Report:
    """Seed `n` collaborations; time the access search with and without its indexes."""
    report = Report("privacy", {"n": n, "repeat": repeat})
    address = address_of(n)
    with postgres() as url:
        async with database(url, pool_max=1) as pool:  # one connection: the SET applies to every query
            async with pool.acquire() as conn:
                await seed(conn, n)
            await _time(pool, address, 3)  # warm the plans and the cache
            indexed = await _time(pool, address, repeat)
            async with pool.acquire() as conn:
                await conn.execute(NO_INDEXES)
            scanned = await _time(pool, address, repeat)
            async with pool.acquire() as conn:
                await conn.execute(WITH_INDEXES)
    report.values["indexed"] = summary(indexed)
    report.values["without_indexes"] = summary(scanned)
    ratio = report.values["indexed"]["median_ms"] / report.values["without_indexes"]["median_ms"]
    report.values["ratio_indexed_over_without"] = round(ratio, 3)
    report.target("access search (indexed/without indexes)", ratio, 0.2, at_least=False)
    return report
