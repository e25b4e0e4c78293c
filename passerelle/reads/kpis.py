"""The programme report behind `passerelle report`, read from the KPI views.

The views live in `migrations/0002_kpis.sql`; this module only filters and shapes them. Read-only
and without Temporal: a report needs the database alone.
"""

from datetime import timedelta
from typing import Any

import asyncpg

from activities.kpis import ratio
from schemas import KpiFilters, KpiReport, Stage, StageKpi
from schemas.imports import effective_at

# $1 programme, $2 sector, $3 corporate, $4 cohort from (inclusive), $5 cohort to (exclusive).
_WHERE = """($1::text IS NULL OR programme = $1) AND ($2::text IS NULL OR sector = $2)
  AND ($3::text IS NULL OR corporate = $3)
  AND ($4::timestamptz IS NULL OR {cohort} >= $4) AND ($5::timestamptz IS NULL OR {cohort} < $5)"""

SELECT_TOTALS = f"""
SELECT count(*) AS collaborations,
       count(*) FILTER (WHERE is_open) AS open,
       count(*) FILTER (WHERE stalled) AS stalled,
       count(*) FILTER (WHERE outcome = 'deployed') AS deployed,
       count(*) FILTER (WHERE outcome = 'declined') AS declined,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
FROM kpi_collaborations WHERE {_WHERE.format(cohort="entered_at")}
"""
SELECT_STAGES = f"""
SELECT s.stage,
       count(k.*) FILTER (WHERE s.stage = ANY(k.stages)) AS reached,
       count(k.*) FILTER (WHERE k.is_open AND k.stage = s.stage) AS open,
       count(k.*) FILTER (WHERE k.stalled AND k.stage = s.stage) AS stalled
FROM unnest($6::text[]) AS s(stage)
LEFT JOIN (
    SELECT *, array_remove(ARRAY[
        CASE WHEN reached_introduction THEN 'introduction' END,
        CASE WHEN reached_qualification THEN 'qualification' END,
        CASE WHEN reached_pilot THEN 'pilot' END,
        CASE WHEN reached_evaluation THEN 'evaluation' END,
        CASE WHEN reached_deployment THEN 'deployment' END], NULL) AS stages
    FROM kpi_collaborations WHERE {_WHERE.format(cohort="entered_at")}
) k ON true
GROUP BY s.stage
"""
SELECT_DURATIONS = f"""
SELECT stage, count(*) AS stays,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days,
       array_agg(days::float8 ORDER BY days) AS days
FROM kpi_time_in_stage WHERE {_WHERE.format(cohort="cohort_at")}
GROUP BY stage
"""


def _args(f: KpiFilters) -> list[Any]:
    since = effective_at(f.since) if f.since else None
    until = effective_at(f.until) + timedelta(days=1) if f.until else None  # `--to` is inclusive
    return [f.programme, f.sector, f.corporate, since, until]


async def read_report(pool: asyncpg.Pool, filters: KpiFilters) -> KpiReport:
    """Return the funnel and stage durations of the collaborations `filters` selects."""
    args = _args(filters)
    async with pool.acquire() as conn:
        totals = await conn.fetchrow(SELECT_TOTALS, *args)
        stages = {r["stage"]: r for r in await conn.fetch(SELECT_STAGES, *args, [s.value for s in Stage])}
        durations = {r["stage"]: r for r in await conn.fetch(SELECT_DURATIONS, *args)}
    rows = []
    for stage in Stage:
        s, d = stages[stage.value], durations.get(stage.value)
        rows.append(
            StageKpi(
                stage=stage,
                reached=s["reached"],
                open=s["open"],
                stalled=s["stalled"],
                completed_stays=d["stays"] if d else 0,
                median_days=d["median_days"] if d else None,
                p90_days=d["p90_days"] if d else None,
                days=list(d["days"]) if d else [],
            )
        )
    reached = {r.stage: r.reached for r in rows}
    return KpiReport(
        filters=filters,
        **dict(totals),
        stalled_ratio=ratio(totals["stalled"], totals["open"]),
        conversion_introduction_pilot=ratio(reached[Stage.PILOT], reached[Stage.INTRODUCTION]),
        conversion_pilot_deployed=ratio(totals["deployed"], reached[Stage.PILOT]),
        stages=rows,
    )
