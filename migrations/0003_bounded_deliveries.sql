-- Deliveries that never block a collaboration: leased while sent, given up after their window.
--
-- `sending` with `lease_until` marks a delivery an attempt is sending: another attempt (a retry,
-- the next run after continue-as-new, `passerelle notifications retry`) sends it only once the
-- lease has run out, so it never sends what an attempt may still be sending. `last_error` keeps
-- the latest transient error; a delivery whose window is spent is `failed` with it.

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
ALTER TABLE deliveries ADD COLUMN lease_until timestamptz;
ALTER TABLE deliveries ADD COLUMN last_error text;
CREATE INDEX deliveries_unsent ON deliveries (status) WHERE status <> 'sent';
CREATE INDEX notifications_collaboration ON notifications (collaboration_id);

-- The cap of unanswered reminders in a stage: the owner is told once that reminders stopped.
ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('started', 'stage_changed',
    'milestone', 'reminder', 'escalation', 'reminders_stopped', 'paused', 'resumed', 'snoozed',
    'closed', 'imported'));
