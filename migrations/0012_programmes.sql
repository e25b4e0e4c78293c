-- Programmes in Temporal namespaces of their own (docs/architecture.md, "Programmes").

-- How roles name a programme: ASCII letters in lower case, each run of any other character a
-- hyphen, no hyphen at either end. `schemas.actors.programme_slug` is the same rule
-- (tests/integration/test_programme_rows.py holds the two equal); reports, exports and erasures
-- select a caller's programmes by it.
CREATE FUNCTION programme_slug_of(p_programme text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(
        translate(p_programme, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
        '[^a-z0-9]+', '-', 'g'), '-')
$$;
ALTER TABLE collaborations ADD COLUMN programme_slug text GENERATED ALWAYS AS (programme_slug_of(programme)) STORED;
CREATE INDEX collaborations_programme_slug ON collaborations (programme_slug);

-- The Temporal namespace the collaboration's workflow runs in; '' for rows recorded before
-- programmes had namespaces of their own (their workflows run in the shared namespace).
ALTER TABLE collaborations ADD COLUMN namespace text NOT NULL DEFAULT '';

-- A data key chain is a workflow id within a namespace: two programmes may each run a workflow
-- `lilly-nabla`, and must never share its keys. `programme` names the programme whose own
-- namespace the chain's workflow runs in, '' the shared namespace (every chain made before).
ALTER TABLE data_keys ADD COLUMN programme text NOT NULL DEFAULT '';
ALTER TABLE data_keys DROP CONSTRAINT data_keys_workflow_id_generation_key;
ALTER TABLE data_keys ADD CONSTRAINT data_keys_chain_generation UNIQUE (programme, workflow_id, generation);
DROP INDEX data_keys_current;
CREATE UNIQUE INDEX data_keys_current ON data_keys (programme, workflow_id)
    WHERE activated_at IS NOT NULL AND retired_at IS NULL AND destroyed_at IS NULL;
