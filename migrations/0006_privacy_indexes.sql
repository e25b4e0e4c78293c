-- People's data rights (docs/privacy.md): find every row that names an e-mail address through
-- indexes, never a scan of every table. Addresses sit in notification recipients and contexts, in
-- milestone actors and details, and, typed by people, in notes (trigram indexes answer ILIKE).

CREATE EXTENSION IF NOT EXISTS pg_trgm;  -- a trusted extension: the schema owner may create it
-- Recipients and the context (actor, notes, requesters...), as one text: an address is found
-- whatever its case (an address keeps the capitals of its local part).
CREATE INDEX notifications_text_trgm ON notifications
    USING gin ((recipients::text || ' ' || context::text) gin_trgm_ops);
CREATE INDEX milestones_actor_lower ON milestones (lower(actor));
CREATE INDEX milestones_note_trgm ON milestones USING gin (note gin_trgm_ops);
-- `details` holds partners' contacts, approvers, evaluators.
CREATE INDEX milestones_details_trgm ON milestones USING gin ((details::text) gin_trgm_ops)
    WHERE details IS NOT NULL;
