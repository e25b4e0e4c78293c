-- The kinds a milestone row may have are data, not a constraint restated by every migration that
-- adds one: `schemas.records.EventKind` lists them, and the migration runner adds to this table any
-- kind it lacks (`passerelle.platform.db.migrate`), so a new kind of event needs no migration.
CREATE TABLE event_kinds (kind text PRIMARY KEY);
INSERT INTO event_kinds (kind) SELECT unnest(ARRAY['started', 'stage_changed', 'milestone', 'reminder',
    'escalation', 'reminders_stopped', 'paused', 'resumed', 'snoozed', 'closed', 'imported',
    'playbook_adopted', 'approval_requested', 'approval_reminder', 'approved', 'rejected', 'scored',
    'partner_update', 'contact_erased']);
ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_known FOREIGN KEY (kind) REFERENCES event_kinds;
