-- The contacts of each collaboration in its row, so that `passerelle export collaborations` can
-- write a spreadsheet that imports again elsewhere (docs/operators.md, Spreadsheets). NULL for a
-- row not written since this migration: the next record of its collaboration fills them in.
ALTER TABLE collaborations
    ADD COLUMN corporate_email text,
    ADD COLUMN startup_email   text,
    ADD COLUMN startup_label   text,
    ADD COLUMN owner_email     text,
    ADD COLUMN language        text;

-- The contacts are personal data: an erasure pseudonymises them in the row as it does elsewhere.
CREATE OR REPLACE FUNCTION pseudonymise_rows(p_collaborations text[], p_address text, p_pseudonym text)
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
    UPDATE collaborations SET
        corporate_email = CASE WHEN lower(corporate_email) = lower(p_address) THEN p_pseudonym
                               ELSE corporate_email END,
        startup_email = CASE WHEN lower(startup_email) = lower(p_address) THEN p_pseudonym
                             ELSE startup_email END,
        owner_email = CASE WHEN lower(owner_email) = lower(p_address) THEN p_pseudonym ELSE owner_email END
    WHERE (p_collaborations IS NULL OR collaboration_id = ANY(p_collaborations))
      AND lower(p_address) IN (lower(corporate_email), lower(startup_email), lower(owner_email));
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
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
