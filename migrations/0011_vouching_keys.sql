-- The public halves of the vouching keys (docs/identity.md): the codec server and the partner
-- portal sign actor statements with the private halves (`PASSERELLE_VOUCHING_KEYS`) and register
-- the public ones here when they start. Workers and `passerelle audit` verify statements against
-- this table, so it is append-only: a statement in a history outlives the key that signed it.
CREATE TABLE vouching_keys (
    key_id       text        PRIMARY KEY,
    algorithm    text        NOT NULL DEFAULT 'Ed25519' CHECK (algorithm = 'Ed25519'),
    public_key   bytea       NOT NULL CHECK (length(public_key) = 32),
    fingerprint  text        NOT NULL,                  -- first 16 hex digits of its SHA-256
    registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION vouching_keys_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'vouching keys are append-only: a history may still name this one';
END;
$$;
CREATE TRIGGER vouching_keys_append_only BEFORE UPDATE OR DELETE ON vouching_keys
    FOR EACH ROW EXECUTE FUNCTION vouching_keys_append_only();

-- Which collaboration first used each actor statement (by its id, `passerelle.platform.vouching`
-- `statement_id`): a statement copied out of one collaboration's history into another proves
-- nothing there. One row per verified action, written by the workers when they first decode it.
CREATE TABLE vouched_uses (
    statement    text        PRIMARY KEY,
    workflow_id  text        NOT NULL,
    first_used_at timestamptz NOT NULL DEFAULT now()
);
