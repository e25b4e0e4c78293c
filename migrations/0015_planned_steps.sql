-- Planned next steps and decision dates (docs/operators.md, "Planned next steps"): in the
-- collaborations row for the daily digest and SQL users, and the meeting figures sponsors ask for.
--
-- The row's columns are written with every record (`workflows.domain.views.projection`); a row
-- not written since this migration has NULL and false until its collaboration's next record.
-- - `next_step_at`, `next_step_kind`: its soonest planned step not missed (NULL: none);
-- - `decision_on`: its go/no-go date (NULL: none set);
-- - `decision_overdue`: that date has passed with no decision (a move to deployment, or an
--   outcome); false again once decided.
ALTER TABLE collaborations
    ADD COLUMN next_step_at     timestamptz,
    ADD COLUMN next_step_kind   text,
    ADD COLUMN decision_on      date,
    ADD COLUMN decision_overdue boolean NOT NULL DEFAULT false;
-- What the daily digest reads: the open collaborations' steps of the coming days, and the
-- overdue decisions.
CREATE INDEX collaborations_next_step ON collaborations (next_step_at)
    WHERE outcome IS NULL AND next_step_at IS NOT NULL;
CREATE INDEX collaborations_decision_overdue ON collaborations (decision_on)
    WHERE outcome IS NULL AND decision_overdue;

-- The step entries, as the views below read them (`workflows.domain.steps.step_details` writes
-- their `details`: `kind` is the step's, `at` the instant it stands at, in UTC).
CREATE INDEX milestones_step_kinds ON milestones (collaboration_id)
    WHERE kind IN ('step_held', 'step_rescheduled', 'step_cancelled', 'step_missed');

-- The rules, written here once; `passerelle report` and `passerelle export collaborations` read
-- them. Per collaboration, from its step entries:
-- - it *first met* at the earliest `at` of its steps held whose kind is a meeting, a demo or a
--   decision (a document due is not a meeting); its days to its first meeting count from its
--   introduction (`kpi_pilot_times.introduced_at`, in effective dates as 0014 counts);
-- - `steps_held`, `steps_postponed` (reschedules), `steps_cancelled` and `steps_missed` count its
--   entries of each kind: a step rescheduled then cancelled is one postponement and one
--   cancellation; a step missed then held is one of each too.
CREATE VIEW kpi_step_times AS
SELECT t.collaboration_id, t.programme, t.sector, t.corporate, t.cohort_at, t.introduced_at,
       s.first_meeting_at,
       extract(epoch FROM s.first_meeting_at - t.introduced_at) / 86400.0 AS days_to_first_meeting,
       coalesce(s.held, 0) AS steps_held, coalesce(s.postponed, 0) AS steps_postponed,
       coalesce(s.cancelled, 0) AS steps_cancelled, coalesce(s.missed, 0) AS steps_missed
FROM kpi_pilot_times t
LEFT JOIN (
    SELECT collaboration_id,
           min((details->>'at')::timestamptz) FILTER (WHERE kind = 'step_held'
               AND details->>'kind' IN ('meeting', 'demo', 'decision')) AS first_meeting_at,
           count(*) FILTER (WHERE kind = 'step_held') AS held,
           count(*) FILTER (WHERE kind = 'step_rescheduled') AS postponed,
           count(*) FILTER (WHERE kind = 'step_cancelled') AS cancelled,
           count(*) FILTER (WHERE kind = 'step_missed') AS missed
    FROM milestones
    WHERE kind IN ('step_held', 'step_rescheduled', 'step_cancelled', 'step_missed')
    GROUP BY collaboration_id
) s USING (collaboration_id);

-- Per programme: how many were introduced and how many of them met, the median and 90th
-- percentile of their days to the first meeting; the steps held, postponed, cancelled and missed.
CREATE VIEW kpi_step_figures AS
SELECT programme, count(introduced_at) AS introduced, count(days_to_first_meeting) AS met,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_first_meeting) AS first_meeting_median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_first_meeting) AS first_meeting_p90_days,
       sum(steps_held)::bigint AS steps_held, sum(steps_postponed)::bigint AS steps_postponed,
       sum(steps_cancelled)::bigint AS steps_cancelled, sum(steps_missed)::bigint AS steps_missed
FROM kpi_step_times
GROUP BY programme;
