-- The figures sponsors ask for: time to PoC, and time from the pilot's start to its decision.
--
-- Read from the KPI views of 0002_kpis.sql, so in effective dates (`coalesce(effective_at,
-- occurred_at)`): an imported collaboration counts from when its stages really began. The rule is
-- written here once; `passerelle report` and `passerelle export collaborations` read it.
--
-- - A collaboration is *introduced* when it first enters `introduction` (its entry), and its PoC
--   starts when it first enters `pilot` (a pilot re-run from evaluation keeps the first start).
-- - Its pilot is *decided* at the first of: its closure (deployed, declined or abandoned) and its
--   first entry into `deployment`. Until then, having reached the pilot, it is *open*: still in
--   pilot, or in evaluation.

-- One row per collaboration, with NULL for what it has not reached (yet).
CREATE VIEW kpi_pilot_times AS
SELECT k.collaboration_id, k.programme, k.sector, k.corporate, k.entered_at AS cohort_at,
       f.introduced_at, f.pilot_at, d.decided_at,
       CASE WHEN d.decided_at IS NULL THEN NULL
            WHEN d.decided_at = f.deployment_at THEN 'deployment'
            ELSE k.outcome END AS decision,
       extract(epoch FROM f.pilot_at - f.introduced_at) / 86400.0 AS days_to_poc,
       extract(epoch FROM d.decided_at - f.pilot_at) / 86400.0 AS days_pilot_to_decision
FROM kpi_collaborations k
JOIN (SELECT collaboration_id,
             min(entered_at) FILTER (WHERE stage = 'introduction') AS introduced_at,
             min(entered_at) FILTER (WHERE stage = 'pilot') AS pilot_at,
             min(entered_at) FILTER (WHERE stage = 'deployment') AS deployment_at
      FROM kpi_stage_entries GROUP BY collaboration_id) f USING (collaboration_id)
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.pilot_at IS NOT NULL THEN least(k.closed_at, f.deployment_at) END AS decided_at
) d;

-- Per programme: how many reached the pilot, the median and 90th percentile of their days to PoC;
-- how many of them are decided and open, and the median and p90 of the decided ones' days from
-- the pilot's start to the decision.
CREATE VIEW kpi_pilot_durations AS
SELECT programme, count(pilot_at) AS reached_pilot,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_poc) AS poc_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_poc) AS poc_p90_days,
       count(decided_at) AS decided,
       count(pilot_at) - count(decided_at) AS open,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_pilot_to_decision) AS decision_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_pilot_to_decision) AS decision_p90_days
FROM kpi_pilot_times
GROUP BY programme;
