-- The partner portal (docs/partners.md): one-click answers from the e-mails' signed links.
--
-- An answer is a `partner_update` milestone row (actor `partner:startup` / `partner:corporate`,
-- `details` with the action, the contact address, the link's id and the seq of the e-mail it
-- answered). `portal_links` records each link's single use: the portal claims a link before it
-- sends the update and marks it used once the workflow has recorded the answer; a claim whose
-- update the workflow refused is released (`claimed_at` NULL), so the link still works.

ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('started', 'stage_changed',
    'milestone', 'reminder', 'escalation', 'reminders_stopped', 'paused', 'resumed', 'snoozed',
    'closed', 'imported', 'playbook_adopted', 'approval_requested', 'approval_reminder', 'approved',
    'rejected', 'scored', 'partner_update'));
CREATE INDEX milestones_partner_answers ON milestones (collaboration_id)
    WHERE kind IN ('partner_update', 'reminder');

CREATE TABLE portal_links (
    link_id          text        PRIMARY KEY,  -- `activities.links.Link.id`: no key, no personal data
    collaboration_id text        NOT NULL,
    party            text        NOT NULL CHECK (party IN ('startup', 'corporate')),
    action           text        NOT NULL CHECK (action IN ('on_it', 'need_help', 'pause', 'stopped')),
    answered_seq     integer     NOT NULL,
    claimed_at       timestamptz,           -- an answer is being sent; NULL once released
    used_at          timestamptz,           -- the workflow recorded it: the link is spent
    recorded_seq     integer                -- the `partner_update` entry it recorded
);
CREATE INDEX portal_links_collaboration ON portal_links (collaboration_id);
