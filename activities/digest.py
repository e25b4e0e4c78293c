"""Read the stalled collaborations for the daily digest from the `collaborations` projection.

A read-only activity: retrying it changes nothing.
"""

import asyncpg
from temporalio import activity

from schemas import StalledCollaboration
from workflows.activity_names import LIST_STALLED

SELECT_STALLED = """
SELECT workflow_id, corporate, startup, programme, stage, stage_since, updated_at
FROM collaborations
WHERE stalled AND outcome IS NULL AND ($1::text IS NULL OR programme = $1 OR programme_slug = $1)
ORDER BY updated_at, workflow_id
"""


class DigestActivities:
    """Activities behind the daily digest."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=LIST_STALLED)
    async def list_stalled(self, programme: str | None) -> list[StalledCollaboration]:
        """Return the open, stalled collaborations (of one programme, or all), oldest news first."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(SELECT_STALLED, programme)
        return [StalledCollaboration.model_validate(dict(row)) for row in rows]
