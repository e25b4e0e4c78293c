"""Time to the first meeting and how planned steps went, in `passerelle report`: per programme,
from `kpi_step_times`.

The rules (what a meeting is, when a collaboration first met, what counts as a postponement) are
the view's, in `migrations/0015_planned_steps.sql`; this module only aggregates them as the report
aggregates time to PoC (median and 90th percentile, `percentile_cont`), with the report's own
filters, within the caller's rows. Every programme with a collaboration selected has its row,
even with no step.
"""

import asyncpg

from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from schemas import KpiFilters
from schemas.kpis import MeetingKpi

SELECT_STEP_FIGURES = f"""
SELECT programme, count(introduced_at) AS introduced, count(days_to_first_meeting) AS met,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_first_meeting) AS first_meeting_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_first_meeting) AS first_meeting_p90_days,
       sum(steps_held)::int AS steps_held, sum(steps_postponed)::int AS steps_postponed,
       sum(steps_cancelled)::int AS steps_cancelled, sum(steps_missed)::int AS steps_missed,
       array_agg(days_to_first_meeting::float8 ORDER BY days_to_first_meeting)
           FILTER (WHERE days_to_first_meeting IS NOT NULL) AS days_to_first_meeting
FROM kpi_step_times WHERE {where("cohort_at")}
GROUP BY programme
ORDER BY programme
"""


async def read_step_kpis(pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope) -> list[MeetingKpi]:
    """Return the time to the first meeting and the steps held, postponed, cancelled and missed
    of each programme the filters select among the caller's `rows`."""
    found = await pool.fetch(*statement(SELECT_STEP_FIGURES, rows, *filter_args(filters)))
    return [
        MeetingKpi(
            **{k: r[k] for k in r.keys() if k != "days_to_first_meeting"},
            days_to_first_meeting=list(r["days_to_first_meeting"] or []),
        )
        for r in found
    ]
