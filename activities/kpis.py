"""The digest's KPI header, read from the views of `migrations/0002_kpis.sql`.

Read-only, so retrying changes nothing. The full report behind `passerelle report` is not an
activity: it lives in `passerelle.reads.kpis`.
"""

import asyncpg
from temporalio import activity

from schemas import KpiSummary, Stage
from workflows.activity_names import KPI_SUMMARY

SELECT_SUMMARY = """
SELECT stage, sum(open)::int AS open, sum(stalled)::int AS stalled
FROM kpi_current_stages WHERE $1::text IS NULL OR programme = $1
GROUP BY stage
"""


def ratio(part: int, whole: int) -> float | None:
    """Return part/whole rounded to 4 places, or None when there is no whole."""
    return round(part / whole, 4) if whole else None


class KpiActivities:
    """The KPI activity over the milestone records."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=KPI_SUMMARY)
    async def kpi_summary(self, programme: str | None) -> KpiSummary:
        """Return open collaborations by stage and the stalled ratio (of one programme, or all)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(SELECT_SUMMARY, programme)
        by_stage = {Stage(r["stage"]): r["open"] for r in rows}
        open_, stalled = sum(by_stage.values()), sum(r["stalled"] for r in rows)
        return KpiSummary(
            open_by_stage=by_stage, open=open_, stalled=stalled, stalled_ratio=ratio(stalled, open_)
        )
