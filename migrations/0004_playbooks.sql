-- Programme playbooks (docs/playbooks.md): gates, approvals and scorecards as data.
--
-- A version is immutable once applied: `playbooks_immutable` refuses any UPDATE or DELETE, so a
-- collaboration that runs under `Coalition Next v3` can always be checked against exactly what v3
-- said. `body` is the validated playbook, `source` the TOML as the operator applied it.

CREATE TABLE playbooks (
    programme  text        NOT NULL,
    version    integer     NOT NULL CHECK (version > 0),
    body       jsonb       NOT NULL,
    source     text        NOT NULL,
    sha256     text        NOT NULL,
    applied_by text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme, version)
);

CREATE FUNCTION playbooks_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'playbook versions are immutable: apply a new version instead';
END;
$$;
CREATE TRIGGER playbooks_immutable BEFORE UPDATE OR DELETE ON playbooks
    FOR EACH ROW EXECUTE FUNCTION playbooks_immutable();

-- What a playbook event decided, as structured data: the gate a move passed and its evidence, an
-- approval's target and wait, an evaluator's scores, the version adopted.
ALTER TABLE milestones ADD COLUMN details jsonb;
ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('started', 'stage_changed',
    'milestone', 'reminder', 'escalation', 'reminders_stopped', 'paused', 'resumed', 'snoozed',
    'closed', 'imported', 'playbook_adopted', 'approval_requested', 'approval_reminder', 'approved',
    'rejected', 'scored'));
CREATE INDEX milestones_playbook_kinds ON milestones (collaboration_id)
    WHERE kind IN ('playbook_adopted', 'approval_requested', 'approved', 'rejected', 'scored');
