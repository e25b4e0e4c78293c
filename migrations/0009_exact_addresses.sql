-- An address matches only itself (docs/privacy.md, "Which texts name an address"): the erasure
-- and the access search find and replace the whole address, never a part of a longer one, and
-- can resume an erasure that stopped half-way.
--
-- The rule is one regular expression per address, built by `schemas.addresses.address_pattern`
-- in a syntax PostgreSQL and Python read alike, and passed in as `p_pattern`. The trigram indexes
-- still find the candidates (ILIKE); the pattern confirms each one before it is shown or changed.

-- The candidates' texts not indexed yet: a milestone's actor and evidence URL beside its note,
-- and a delivery's receipt and error.
DROP INDEX IF EXISTS milestones_note_trgm;
CREATE INDEX milestones_text_trgm ON milestones
    USING gin ((actor || ' ' || note || ' ' || coalesce(evidence_url, '')) gin_trgm_ops);
CREATE INDEX deliveries_text_trgm ON deliveries
    USING gin ((coalesce(result, '') || ' ' || coalesce(last_error, '')) gin_trgm_ops);

-- Every string of a JSON value, object keys included: JSON text would read a line break before
-- an address (`\nana@…`) as the letter n glued to it.
CREATE FUNCTION jsonb_strings(j jsonb) RETURNS SETOF text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT v #>> '{}' FROM jsonb_path_query(j, 'strict $.**') AS v WHERE jsonb_typeof(v) = 'string'
    UNION ALL
    SELECT k FROM jsonb_path_query(j, 'strict $.** ? (@.type() == "object")') AS o, jsonb_object_keys(o) AS k
$$;

CREATE FUNCTION jsonb_names(j jsonb, p_pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT j IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_strings(j) AS s WHERE s ~ p_pattern)
$$;

-- `j` with every match of `p_pattern` replaced in every string and key.
CREATE FUNCTION jsonb_replace_matches(j jsonb, p_pattern text, p_replacement text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN CASE jsonb_typeof(j)
        WHEN 'string' THEN to_jsonb(regexp_replace(j #>> '{}', p_pattern, p_replacement, 'g'))
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(jsonb_replace_matches(e, p_pattern, p_replacement) ORDER BY i), '[]')
            FROM jsonb_array_elements(j) WITH ORDINALITY AS t(e, i))
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(regexp_replace(k, p_pattern, p_replacement, 'g'),
                                             jsonb_replace_matches(v, p_pattern, p_replacement)), '{}')
            FROM jsonb_each(j) AS t(k, v))
        ELSE j END;
END;
$$;

-- True when `p_pattern` is the expression `address_pattern` builds for `p_address`: the fixed
-- boundaries around one unit per character (a case class, an escaped punctuation mark or the
-- character itself). The worker's role passes patterns to `retention_pseudonymise`: this keeps
-- them literal, so it can replace nothing but whole addresses.
CREATE FUNCTION address_pattern_fits(p_pattern text, p_address text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    before constant text := '(?<![A-Za-z0-9!#$%&''*+/=?^_`{|}~.\u0080-\U0010FFFF@-])';
    after constant text := '(?![A-Za-z0-9_\u0080-\U0010FFFF@-])(?!\.[A-Za-z0-9_\u0080-\U0010FFFF@-])';
    body text;
BEGIN
    IF NOT starts_with(p_pattern, before) OR right(p_pattern, length(after)) <> after
       OR length(p_pattern) <= length(before) + length(after) THEN
        RETURN false;
    END IF;
    body := substr(p_pattern, length(before) + 1, length(p_pattern) - length(before) - length(after));
    RETURN body ~ '^(\[[^]\[\\]{2,3}\]|\\[^A-Za-z0-9]|[^][\\(){}*+?|^$.])+$'
       AND position('@' IN p_address) > 0
       AND p_address ~ ('^' || p_pattern || '$');
END;
$$;

-- The one way rows are pseudonymised: every whole mention of the address (`p_pattern`) becomes
-- `p_pseudonym`, in the rows of the given collaborations (`collaborations`, `milestones`,
-- `notifications`, `deliveries`), or, when `p_collaborations` is NULL, in every row of those and
-- in `playbooks`, `erasures` and `data_keys` too. Stages, kinds, dates, counts and scores are left
-- as they are. Returns each row it changed. `passerelle privacy erase --dry-run` runs it in a
-- transaction it rolls back: the plan is exactly what the erasure changes.
DROP FUNCTION pseudonymise_rows(text[], text, text);
CREATE FUNCTION pseudonymise_rows(p_collaborations text[], p_address text, p_pattern text, p_pseudonym text)
RETURNS TABLE (row_table text, row_key text, collaboration_id text, workflow_id text)
LANGUAGE plpgsql AS $$
DECLARE
    likeable text := '%' || replace(replace(replace(p_address, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    everywhere boolean := p_collaborations IS NULL;
BEGIN
    IF p_pseudonym !~ '^erased:[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'pseudonym % is not of the form erased:<12 hex digits>', p_pseudonym;
    END IF;
    IF NOT address_pattern_fits(p_pattern, p_address) THEN
        RAISE EXCEPTION 'only a whole e-mail address is pseudonymised';
    END IF;
    IF everywhere THEN  -- playbook versions are immutable but to an erasure, in its own transaction
        PERFORM set_config('passerelle.erasure', 'on', true);
    END IF;
    RETURN QUERY
    WITH c AS (
        UPDATE collaborations AS t SET
            corporate = regexp_replace(t.corporate, p_pattern, p_pseudonym, 'g'),
            startup = regexp_replace(t.startup, p_pattern, p_pseudonym, 'g'),
            programme = regexp_replace(t.programme, p_pattern, p_pseudonym, 'g'),
            topic = regexp_replace(t.topic, p_pattern, p_pseudonym, 'g'),
            startup_label = regexp_replace(t.startup_label, p_pattern, p_pseudonym, 'g'),
            corporate_email = regexp_replace(t.corporate_email, p_pattern, p_pseudonym, 'g'),
            startup_email = regexp_replace(t.startup_email, p_pattern, p_pseudonym, 'g'),
            owner_email = regexp_replace(t.owner_email, p_pattern, p_pseudonym, 'g')
        WHERE (everywhere OR t.collaboration_id = ANY(p_collaborations))
          AND concat_ws(' ', t.corporate, t.startup, t.programme, t.topic, t.startup_label, t.corporate_email,
                        t.startup_email, t.owner_email) ~ p_pattern
        RETURNING 'collaborations'::text, t.collaboration_id, t.collaboration_id, t.workflow_id
    ), m AS (
        UPDATE milestones AS t SET
            actor = regexp_replace(t.actor, p_pattern, p_pseudonym, 'g'),
            note = regexp_replace(t.note, p_pattern, p_pseudonym, 'g'),
            evidence_url = regexp_replace(t.evidence_url, p_pattern, p_pseudonym, 'g'),
            details = jsonb_replace_matches(t.details, p_pattern, p_pseudonym)
        WHERE (everywhere OR t.collaboration_id = ANY(p_collaborations))
          AND ((t.actor || ' ' || t.note || ' ' || coalesce(t.evidence_url, '')) ILIKE likeable
               OR t.details::text ILIKE likeable)
          AND (t.actor ~ p_pattern OR t.note ~ p_pattern OR t.evidence_url ~ p_pattern
               OR jsonb_names(t.details, p_pattern))
        RETURNING 'milestones'::text, t.collaboration_id || '/' || t.seq, t.collaboration_id, t.workflow_id
    ), d AS (
        UPDATE deliveries AS t SET
            result = regexp_replace(t.result, p_pattern, p_pseudonym, 'g'),
            last_error = regexp_replace(t.last_error, p_pattern, p_pseudonym, 'g')
        FROM notifications AS x
        WHERE t.idempotency_key = x.idempotency_key
          AND (everywhere OR x.collaboration_id = ANY(p_collaborations))
          AND (coalesce(t.result, '') || ' ' || coalesce(t.last_error, '')) ILIKE likeable
          AND (t.result ~ p_pattern OR t.last_error ~ p_pattern)
        RETURNING 'deliveries'::text, t.idempotency_key || ' ' || t.channel, x.collaboration_id, x.workflow_id
    ), n AS (
        UPDATE notifications AS t SET
            recipients = jsonb_replace_matches(t.recipients, p_pattern, p_pseudonym),
            context = jsonb_replace_matches(t.context, p_pattern, p_pseudonym)
        WHERE (everywhere OR t.collaboration_id = ANY(p_collaborations))
          AND (t.recipients::text || ' ' || t.context::text) ILIKE likeable
          AND (jsonb_names(t.recipients, p_pattern) OR jsonb_names(t.context, p_pattern))
        RETURNING 'notifications'::text, t.idempotency_key, t.collaboration_id, t.workflow_id
    ), p AS (
        UPDATE playbooks AS t SET
            applied_by = regexp_replace(t.applied_by, p_pattern, p_pseudonym, 'g'),
            body = jsonb_replace_matches(t.body, p_pattern, p_pseudonym),
            source = regexp_replace(t.source, p_pattern, p_pseudonym, 'g')
        WHERE everywhere AND (t.applied_by ~ p_pattern OR jsonb_names(t.body, p_pattern) OR t.source ~ p_pattern)
        RETURNING 'playbooks'::text, t.programme || ' v' || t.version, NULL::text, NULL::text
    ), e AS (
        UPDATE erasures AS t SET
            erased_by = regexp_replace(t.erased_by, p_pattern, p_pseudonym, 'g'),
            reason = regexp_replace(t.reason, p_pattern, p_pseudonym, 'g')
        WHERE everywhere AND (t.erased_by ~ p_pattern OR t.reason ~ p_pattern)
        RETURNING 'erasures'::text, t.erasure_id::text, NULL::text, NULL::text
    ), k AS (
        UPDATE data_keys AS t SET
            destroyed_by = regexp_replace(t.destroyed_by, p_pattern, p_pseudonym, 'g'),
            destroy_reason = regexp_replace(t.destroy_reason, p_pattern, p_pseudonym, 'g')
        WHERE everywhere AND (t.destroyed_by ~ p_pattern OR t.destroy_reason ~ p_pattern)
        RETURNING 'data_keys'::text, t.key_id, NULL::text, t.workflow_id
    )
    SELECT * FROM c UNION ALL SELECT * FROM m UNION ALL SELECT * FROM d UNION ALL SELECT * FROM n
    UNION ALL SELECT * FROM p UNION ALL SELECT * FROM e UNION ALL SELECT * FROM k;
END;
$$;
REVOKE ALL ON FUNCTION pseudonymise_rows(text[], text, text, text) FROM PUBLIC;

-- The retention sweep's only way to change rows (the worker role may not UPDATE milestones or
-- notifications): it pseudonymises the given addresses of one collaboration, only once that
-- collaboration is closed, marks it erased and records the erasure. `p_pseudonyms` maps each
-- address to its `{"pseudonym", "pattern"}` (replaced, not dropped: the workers' grant stays).
CREATE OR REPLACE FUNCTION retention_pseudonymise(p_collaboration text, p_pseudonyms jsonb,
                                                  p_keys_destroyed integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    item record;
    changed integer := 0;
    n integer;
    wid text;
BEGIN
    SELECT c.workflow_id INTO wid FROM collaborations c
    WHERE c.collaboration_id = p_collaboration AND c.outcome IS NOT NULL;
    IF wid IS NULL THEN
        RAISE EXCEPTION 'collaboration % is not closed: retention leaves it alone', p_collaboration;
    END IF;
    FOR item IN SELECT key AS address, value FROM jsonb_each(p_pseudonyms) LOOP
        SELECT count(*) INTO n FROM pseudonymise_rows(
            ARRAY[p_collaboration], item.address, item.value->>'pattern', item.value->>'pseudonym');
        changed := changed + n;
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

-- An erasure that stopped half-way says what it did: `steps` holds, per workflow id, what was
-- done to it (`rekey` with its new key, or `shred`) and whether it finished; `changed_rows` the
-- rows it changes (`<table> <row key>`: ids, no personal data), those its workflows rewrite from
-- their own state included, and `rows_changed` counts them once it is finished. An erasure of a
-- contact writes `finished_at` NULL as it begins and sets it once the rows are pseudonymised;
-- running the same erasure again resumes the one under way for that pseudonym. A retention
-- sweep's row is finished as it is written.
ALTER TABLE erasures
    ADD COLUMN steps        jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN changed_rows text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN finished_at  timestamptz DEFAULT now();
UPDATE erasures SET finished_at = erased_at;
CREATE UNIQUE INDEX erasures_under_way ON erasures (pseudonym) WHERE finished_at IS NULL;
