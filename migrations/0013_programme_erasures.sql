-- An erasure within some programmes (docs/privacy.md, "Programmes"): a login of programme A
-- erases an address in A's collaborations and A's playbooks only; the same address in another
-- programme's rows stays as it is.

-- `pseudonymise_rows` within the programmes `p_programmes` (slugs): the rows of their
-- collaborations, and their playbooks. The records of operators' acts (`erasures`, `data_keys`)
-- belong to no programme: only an erasure of every programme (`pseudonymise_rows` with NULL)
-- pseudonymises them. Returns each row it changed, as `pseudonymise_rows` does.
CREATE FUNCTION pseudonymise_programme_rows(p_programmes text[], p_address text, p_pattern text,
                                            p_pseudonym text)
RETURNS TABLE (row_table text, row_key text, collaboration_id text, workflow_id text)
LANGUAGE plpgsql AS $$
BEGIN
    -- Checks the pseudonym and the pattern, as every erasure's first step.
    RETURN QUERY SELECT * FROM pseudonymise_rows(
        ARRAY(SELECT c.collaboration_id FROM collaborations c WHERE c.programme_slug = ANY(p_programmes)),
        p_address, p_pattern, p_pseudonym);
    -- Playbook versions are immutable but to an erasure, in its own transaction.
    PERFORM set_config('passerelle.erasure', 'on', true);
    RETURN QUERY
    WITH p AS (
        UPDATE playbooks AS t SET
            applied_by = regexp_replace(t.applied_by, p_pattern, p_pseudonym, 'g'),
            body = jsonb_replace_matches(t.body, p_pattern, p_pseudonym),
            source = regexp_replace(t.source, p_pattern, p_pseudonym, 'g')
        WHERE programme_slug_of(t.programme) = ANY(p_programmes)
          AND (t.applied_by ~ p_pattern OR jsonb_names(t.body, p_pattern) OR t.source ~ p_pattern)
        RETURNING 'playbooks'::text, t.programme || ' v' || t.version, NULL::text, NULL::text
    )
    SELECT * FROM p;
END;
$$;
REVOKE ALL ON FUNCTION pseudonymise_programme_rows(text[], text, text, text) FROM PUBLIC;

-- Which programmes an erasure of a contact reaches: their slugs, or `*` for every programme (as
-- every erasure recorded before). An erasure under way is taken up again by a run of the same
-- address within the same programmes only, so a login of one programme never finishes, nor
-- learns of, an erasure begun in others.
ALTER TABLE erasures ADD COLUMN programmes text[] NOT NULL DEFAULT '{*}';
DROP INDEX erasures_under_way;
CREATE UNIQUE INDEX erasures_under_way ON erasures (pseudonym, programmes) WHERE finished_at IS NULL;
