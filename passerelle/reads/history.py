"""A collaboration's full history, read from PostgreSQL's `milestones` rows.

The workflow keeps only its latest entries; `passerelle status` shows the whole record from here,
or its last N entries, read in pages of `PAGE` rows so that no one query reads a long life whole.
"""

from collections.abc import AsyncIterator

import asyncpg

from schemas import HistoryEntry

PAGE = 500
_COLUMNS = """seq, kind, occurred_at AS at, stage, actor, to_stage, outcome, milestone, note,
    evidence_url, reminder_number, effective_at, details"""
AFTER = f"""SELECT {_COLUMNS} FROM milestones WHERE collaboration_id = $1 AND seq > $2
ORDER BY seq LIMIT $3"""
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM milestones WHERE collaboration_id = $1"


async def entries(
    pool: asyncpg.Pool, collaboration_id: str, last: int | None = None
) -> AsyncIterator[HistoryEntry]:
    """Yield the collaboration's entries in order: all of them, or the `last` ones."""
    after = 0
    async with pool.acquire() as conn:
        if last is not None:
            after = max(0, await conn.fetchval(LAST_SEQ, collaboration_id) - last)
        while True:
            rows = await conn.fetch(AFTER, collaboration_id, after, PAGE)
            for row in rows:
                yield HistoryEntry.model_validate(dict(row))
            if len(rows) < PAGE:
                return
            after = rows[-1]["seq"]
