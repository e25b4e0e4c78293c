-- Per-collaboration data keys, erasure records and the retention sweep (docs/privacy.md).

-- One data key per workflow id chain and generation. `wrapped` is the key sealed under a master
-- key (`PASSERELLE_ENCRYPTION_KEYS`, named by `master_key_id`); destroying a key sets it to NULL,
-- so nothing can unwrap it any more. At most one key of a chain is current (neither retired nor
-- destroyed); a retired key still opens the payloads it sealed until it is destroyed.
CREATE TABLE data_keys (
    key_id         text        PRIMARY KEY,       -- random, named by every payload it seals
    workflow_id    text        NOT NULL,
    generation     integer     NOT NULL CHECK (generation > 0),
    master_key_id  text        NOT NULL,
    wrapped        bytea,                          -- NULL once destroyed
    created_at     timestamptz NOT NULL DEFAULT now(),
    activated_at   timestamptz,                    -- NULL: prepared for a re-key, not yet sealing
    retired_at     timestamptz,
    destroyed_at   timestamptz,
    destroyed_by   text,
    destroy_reason text,
    UNIQUE (workflow_id, generation),
    CONSTRAINT data_keys_destroyed CHECK ((destroyed_at IS NULL) = (wrapped IS NOT NULL))
);
CREATE UNIQUE INDEX data_keys_current ON data_keys (workflow_id)
    WHERE activated_at IS NOT NULL AND retired_at IS NULL AND destroyed_at IS NULL;

-- Who erased what and when: never the erased value, only its pseudonym.
CREATE TABLE erasures (
    erasure_id       bigserial   PRIMARY KEY,
    scope            text        NOT NULL CHECK (scope IN ('contact', 'retention')),
    pseudonym        text,                         -- `erased:<hash>` of a contact; NULL for retention
    erased_by        text        NOT NULL,
    reason           text        NOT NULL,
    erased_at        timestamptz NOT NULL DEFAULT now(),
    collaborations   text[]      NOT NULL,          -- collaboration ids touched
    workflow_ids     text[]      NOT NULL,
    rows_changed     integer     NOT NULL,
    keys_destroyed   integer     NOT NULL
);
CREATE INDEX erasures_collaborations ON erasures USING gin (collaborations);

-- A collaboration whose personal fields the retention sweep pseudonymised.
ALTER TABLE collaborations ADD COLUMN erased_at timestamptz;

ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check;
ALTER TABLE milestones ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('started', 'stage_changed',
    'milestone', 'reminder', 'escalation', 'reminders_stopped', 'paused', 'resumed', 'snoozed',
    'closed', 'imported', 'playbook_adopted', 'approval_requested', 'approval_reminder', 'approved',
    'rejected', 'scored', 'partner_update', 'contact_erased'));

-- Playbook versions stay immutable, except that an erasure may pseudonymise who applied one and
-- the approvers it names; the erasure sets `passerelle.erasure` for its own transaction only.
CREATE OR REPLACE FUNCTION playbooks_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('passerelle.erasure', true) = 'on'
       AND NEW.programme = OLD.programme AND NEW.version = OLD.version THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'playbook versions are immutable: apply a new version instead';
END;
$$;

-- The one way personal fields are pseudonymised: every occurrence of `p_address`, whatever its
-- case, becomes `p_pseudonym` in the milestone, notification and delivery rows of the given
-- collaborations (all of them when `p_collaborations` is NULL). Stages, kinds, dates, counts
-- and scores are left as they are. Returns the number of rows changed.
CREATE FUNCTION pseudonymise_rows(p_collaborations text[], p_address text, p_pseudonym text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    pattern text := regexp_replace(p_address, '([^a-zA-Z0-9])', '\\\1', 'g');
    likeable text := '%' || replace(replace(replace(p_address, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    changed integer := 0;
    n integer;
BEGIN
    IF p_pseudonym !~ '^erased:[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'pseudonym % is not of the form erased:<12 hex digits>', p_pseudonym;
    END IF;
    IF length(p_address) < 3 OR position('@' IN p_address) = 0 THEN
        RAISE EXCEPTION 'only an e-mail address is pseudonymised';
    END IF;
    UPDATE milestones SET
        actor = regexp_replace(actor, pattern, p_pseudonym, 'gi'),
        note = regexp_replace(note, pattern, p_pseudonym, 'gi'),
        evidence_url = regexp_replace(evidence_url, pattern, p_pseudonym, 'gi'),
        details = regexp_replace(details::text, pattern, p_pseudonym, 'gi')::jsonb
    WHERE (p_collaborations IS NULL OR collaboration_id = ANY(p_collaborations))
      AND (lower(actor) = lower(p_address) OR note ILIKE likeable OR evidence_url ILIKE likeable
           OR details::text ILIKE likeable);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE deliveries d SET
        result = regexp_replace(d.result, pattern, p_pseudonym, 'gi'),
        last_error = regexp_replace(d.last_error, pattern, p_pseudonym, 'gi')
    FROM notifications x
    WHERE d.idempotency_key = x.idempotency_key
      AND (p_collaborations IS NULL OR x.collaboration_id = ANY(p_collaborations))
      AND (d.result ILIKE likeable OR d.last_error ILIKE likeable
           OR (x.recipients::text || ' ' || x.context::text) ILIKE likeable);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE notifications SET
        recipients = regexp_replace(recipients::text, pattern, p_pseudonym, 'gi')::jsonb,
        context = regexp_replace(context::text, pattern, p_pseudonym, 'gi')::jsonb
    WHERE (p_collaborations IS NULL OR collaboration_id = ANY(p_collaborations))
      AND (recipients::text || ' ' || context::text) ILIKE likeable;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN changed + n;
END;
$$;
REVOKE ALL ON FUNCTION pseudonymise_rows(text[], text, text) FROM PUBLIC;

-- The retention sweep's only way to change rows (the worker role may not UPDATE milestones or
-- notifications): it pseudonymises the given addresses of one collaboration, only once that
-- collaboration is closed, marks it erased and records the erasure.
CREATE FUNCTION retention_pseudonymise(p_collaboration text, p_pseudonyms jsonb, p_keys_destroyed integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    pair record;
    changed integer := 0;
    wid text;
BEGIN
    SELECT workflow_id INTO wid FROM collaborations
    WHERE collaboration_id = p_collaboration AND outcome IS NOT NULL;
    IF wid IS NULL THEN
        RAISE EXCEPTION 'collaboration % is not closed: retention leaves it alone', p_collaboration;
    END IF;
    FOR pair IN SELECT key AS address, value AS pseudonym FROM jsonb_each_text(p_pseudonyms) LOOP
        changed := changed + pseudonymise_rows(ARRAY[p_collaboration], pair.address, pair.pseudonym);
    END LOOP;
    UPDATE collaborations SET erased_at = now() WHERE collaboration_id = p_collaboration;
    INSERT INTO erasures (scope, pseudonym, erased_by, reason, collaborations, workflow_ids,
                          rows_changed, keys_destroyed)
    VALUES ('retention', NULL, 'retention', 'closed longer than the retention period',
            ARRAY[p_collaboration], ARRAY[wid], changed, p_keys_destroyed);
    RETURN changed;
END;
$$;
REVOKE ALL ON FUNCTION retention_pseudonymise(text, jsonb, integer) FROM PUBLIC;
