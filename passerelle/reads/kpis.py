"""The programme report behind `passerelle report`, read from the KPI views.

The views live in `migrations/0002_kpis.sql`, `0014_sponsor_figures.sql` and
`0015_planned_steps.sql`; this module only filters and shapes them, within the caller's rows
(`passerelle.reads.filters`). Read-only and without Temporal: a report needs the database alone.
"""

import asyncpg

from activities.kpis import ratio
from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from passerelle.reads.partner_kpis import read_partner_kpis
from passerelle.reads.pilot_kpis import read_pilot_kpis
from passerelle.reads.playbook_kpis import read_playbook_kpis
from passerelle.reads.step_kpis import read_step_kpis
from schemas import KpiFilters, KpiReport, Stage, StageKpi

SELECT_TOTALS = f"""
SELECT count(*) AS collaborations,
       count(*) FILTER (WHERE is_open) AS open,
       count(*) FILTER (WHERE stalled) AS stalled,
       count(*) FILTER (WHERE outcome = 'deployed') AS deployed,
       count(*) FILTER (WHERE outcome = 'declined') AS declined,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
FROM kpi_collaborations WHERE {where("entered_at")}
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
    FROM kpi_collaborations WHERE {where("entered_at")}
) k ON true
GROUP BY s.stage
"""
SELECT_DURATIONS = f"""
SELECT stage, count(*) AS stays,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days,
       array_agg(days::float8 ORDER BY days) AS days
FROM kpi_time_in_stage WHERE {where("cohort_at")}
GROUP BY stage
"""


async def read_report(pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope) -> KpiReport:
    """Return the funnel, stage durations, time to PoC and to decision, and time to the first
    meeting and the steps of the collaborations `filters` selects among the caller's `rows`."""
    args = filter_args(filters)
    stage_names = [s.value for s in Stage]
    async with pool.acquire() as conn:
        totals = await conn.fetchrow(*statement(SELECT_TOTALS, rows, *args))
        stages = {
            r["stage"]: r for r in await conn.fetch(*statement(SELECT_STAGES, rows, *args, stage_names))
        }
        durations = {r["stage"]: r for r in await conn.fetch(*statement(SELECT_DURATIONS, rows, *args))}
    per_stage = []
    for stage in Stage:
        s, d = stages[stage.value], durations.get(stage.value)
        per_stage.append(
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
    reached = {r.stage: r.reached for r in per_stage}
    return KpiReport(
        filters=filters,
        **dict(totals),
        stalled_ratio=ratio(totals["stalled"], totals["open"]),
        conversion_introduction_pilot=ratio(reached[Stage.PILOT], reached[Stage.INTRODUCTION]),
        conversion_pilot_deployed=ratio(totals["deployed"], reached[Stage.PILOT]),
        stages=per_stage,
        pilot_times=await read_pilot_kpis(pool, filters, rows),
        meetings=await read_step_kpis(pool, filters, rows),
        playbooks=await read_playbook_kpis(pool, filters, rows),
        partners=await read_partner_kpis(pool, filters, rows),
    )
