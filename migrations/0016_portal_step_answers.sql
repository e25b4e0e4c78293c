-- Partners answer about a planned step from its e-mails (docs/partners.md, "Answering about a
-- planned step"): a link of `held`, `postponed` or `cancelled` names its step, and `portal_links`
-- records which, beside the action. The other four actions name none.

ALTER TABLE portal_links DROP CONSTRAINT portal_links_action_check;
ALTER TABLE portal_links ADD CONSTRAINT portal_links_action_check CHECK (action IN ('on_it',
    'need_help', 'pause', 'stopped', 'held', 'postponed', 'cancelled'));
ALTER TABLE portal_links ADD COLUMN step text CHECK (step ~ '^s[1-9][0-9]{0,5}$');
ALTER TABLE portal_links ADD CONSTRAINT portal_links_step_of_its_action
    CHECK ((step IS NOT NULL) = (action IN ('held', 'postponed', 'cancelled')));
