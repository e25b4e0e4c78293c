-- Programme KPIs: effective dates for imported events, and the views reports read.
--
-- Every figure comes from the milestone rows, so the numbers and the audit trail never disagree.
-- Time is `coalesce(effective_at, occurred_at)`: an imported event counts when it really happened.

ALTER TABLE milestones ADD COLUMN effective_at timestamptz;  -- NULL for live events
ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('started', 'stage_changed',
    'milestone', 'reminder', 'escalation', 'paused', 'resumed', 'snoozed', 'closed', 'imported'));
CREATE INDEX milestones_kpi_kinds ON milestones (collaboration_id)
    WHERE kind IN ('started', 'stage_changed', 'imported', 'closed');

-- One row per entry into a stage: `started` enters introduction (unless the collaboration was
-- imported: then its `imported` rows say which stages it entered and when), `stage_changed` enters
-- `to_stage`, `imported` enters its `stage` on its effective date.
CREATE VIEW kpi_stage_entries AS
SELECT m.collaboration_id, m.seq,
       CASE WHEN m.kind = 'stage_changed' THEN m.to_stage ELSE m.stage END AS stage,
       coalesce(m.effective_at, m.occurred_at) AS entered_at
FROM milestones m
WHERE m.kind IN ('stage_changed', 'imported')
   OR (m.kind = 'started' AND NOT EXISTS (
        SELECT 1 FROM milestones i WHERE i.collaboration_id = m.collaboration_id AND i.kind = 'imported'));

-- When and how each collaboration ended (at most one `closed` row each).
CREATE VIEW kpi_closures AS
SELECT collaboration_id, outcome, coalesce(effective_at, occurred_at) AS closed_at
FROM milestones WHERE kind = 'closed';

-- Each stay in a stage: it ends at the next entry, or when the collaboration closed; `exited_at`
-- is NULL while the collaboration is still there.
CREATE VIEW kpi_stage_intervals AS
SELECT e.collaboration_id, e.seq, e.stage, e.entered_at,
       coalesce(lead(e.entered_at) OVER w, c.closed_at) AS exited_at,
       extract(epoch FROM coalesce(lead(e.entered_at) OVER w, c.closed_at) - e.entered_at) / 86400.0
           AS days
FROM kpi_stage_entries e
LEFT JOIN kpi_closures c USING (collaboration_id)
WINDOW w AS (PARTITION BY e.collaboration_id ORDER BY e.entered_at, e.seq);

-- One row per collaboration: its parties, where it is, and which stages it ever reached.
-- `entered_at` (its first stage entry) places it in a period (its cohort).
CREATE VIEW kpi_collaborations AS
SELECT c.collaboration_id, c.workflow_id, c.programme, c.sector, c.corporate, c.startup,
       c.stage, c.outcome, c.outcome IS NULL AS is_open, c.stalled AND c.outcome IS NULL AS stalled,
       e.entered_at, x.closed_at,
       e.stages @> ARRAY['introduction'] AS reached_introduction,
       e.stages @> ARRAY['qualification'] AS reached_qualification,
       e.stages @> ARRAY['pilot'] AS reached_pilot,
       e.stages @> ARRAY['evaluation'] AS reached_evaluation,
       e.stages @> ARRAY['deployment'] AS reached_deployment,
       c.outcome IS NOT DISTINCT FROM 'deployed' AS deployed
FROM collaborations c
JOIN (SELECT collaboration_id, min(entered_at) AS entered_at, array_agg(DISTINCT stage) AS stages
      FROM kpi_stage_entries GROUP BY collaboration_id) e USING (collaboration_id)
LEFT JOIN kpi_closures x USING (collaboration_id);

-- Time each collaboration spent in each stage it has left (a re-run pilot adds up its stays).
CREATE VIEW kpi_time_in_stage AS
SELECT k.collaboration_id, k.programme, k.sector, k.corporate, k.entered_at AS cohort_at,
       i.stage, sum(i.days) AS days, count(*) AS stays
FROM kpi_stage_intervals i JOIN kpi_collaborations k USING (collaboration_id)
WHERE i.exited_at IS NOT NULL
GROUP BY k.collaboration_id, k.programme, k.sector, k.corporate, k.entered_at, i.stage;

-- The funnel per programme, sector, corporate and month of entry.
CREATE VIEW kpi_funnel AS
SELECT programme, sector, corporate, date_trunc('month', entered_at) AS period,
       count(*) AS collaborations,
       count(*) FILTER (WHERE is_open) AS open,
       count(*) FILTER (WHERE stalled) AS stalled,
       round(count(*) FILTER (WHERE stalled)::numeric / nullif(count(*) FILTER (WHERE is_open), 0), 4)
           AS stalled_ratio,
       count(*) FILTER (WHERE reached_introduction) AS reached_introduction,
       count(*) FILTER (WHERE reached_qualification) AS reached_qualification,
       count(*) FILTER (WHERE reached_pilot) AS reached_pilot,
       count(*) FILTER (WHERE reached_evaluation) AS reached_evaluation,
       count(*) FILTER (WHERE reached_deployment) AS reached_deployment,
       count(*) FILTER (WHERE deployed) AS deployed,
       round(count(*) FILTER (WHERE reached_pilot)::numeric
             / nullif(count(*) FILTER (WHERE reached_introduction), 0), 4) AS conversion_introduction_pilot,
       round(count(*) FILTER (WHERE deployed)::numeric
             / nullif(count(*) FILTER (WHERE reached_pilot), 0), 4) AS conversion_pilot_deployed
FROM kpi_collaborations
GROUP BY programme, sector, corporate, date_trunc('month', entered_at);

-- Open collaborations by current stage, per programme.
CREATE VIEW kpi_current_stages AS
SELECT programme, stage, count(*) AS open, count(*) FILTER (WHERE stalled) AS stalled
FROM kpi_collaborations WHERE is_open
GROUP BY programme, stage;

-- Median and 90th percentile of the days spent in each stage, per programme.
CREATE VIEW kpi_stage_durations AS
SELECT programme, stage, count(*) AS collaborations,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days
FROM kpi_time_in_stage
GROUP BY programme, stage;
