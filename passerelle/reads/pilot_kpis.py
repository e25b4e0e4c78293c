"""Time to PoC and to decision in `passerelle report`: per programme, from `kpi_pilot_times`.

The rule (the entry, the pilot's start, its decision) is the view's, in
`migrations/0014_sponsor_figures.sql`; this module only aggregates it as the report aggregates time
in stage (median and 90th percentile, `percentile_cont`), with the report's own filters, within
the caller's rows. Every programme with a collaboration selected has its row, even with none that
reached the pilot.
"""

import asyncpg

from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from schemas import KpiFilters
from schemas.kpis import PilotKpi

SELECT_PILOT_TIMES = f"""
SELECT programme, count(pilot_at) AS reached_pilot,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_poc) AS poc_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_poc) AS poc_p90_days,
       count(decided_at) AS decided,
       count(pilot_at) - count(decided_at) AS open,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_pilot_to_decision) AS decision_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_pilot_to_decision) AS decision_p90_days,
       array_agg(days_to_poc::float8 ORDER BY days_to_poc)
           FILTER (WHERE days_to_poc IS NOT NULL) AS days_to_poc,
       array_agg(days_pilot_to_decision::float8 ORDER BY days_pilot_to_decision)
           FILTER (WHERE days_pilot_to_decision IS NOT NULL) AS days_pilot_to_decision
FROM kpi_pilot_times WHERE {where("cohort_at")}
GROUP BY programme
ORDER BY programme
"""


async def read_pilot_kpis(pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope) -> list[PilotKpi]:
    """Return the time to PoC and to decision of each programme the filters select among the
    caller's `rows`."""
    found = await pool.fetch(*statement(SELECT_PILOT_TIMES, rows, *filter_args(filters)))
    return [
        PilotKpi(
            **{k: r[k] for k in r.keys() if not k.startswith("days_")},
            days_to_poc=list(r["days_to_poc"] or []),
            days_pilot_to_decision=list(r["days_pilot_to_decision"] or []),
        )
        for r in found
    ]
