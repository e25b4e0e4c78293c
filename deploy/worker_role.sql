-- A least-privilege PostgreSQL role for Passerelle workers (README, "Database roles").
--
-- Run as the role that owns the tables (the one that runs `passerelle migrate`), after migrating:
--     psql "$OWNER_DATABASE_URL" -f deploy/worker_role.sql
-- then give the role a password from your secret store, e.g.
--     psql "$OWNER_DATABASE_URL" -c "ALTER ROLE passerelle_worker PASSWORD '…'"
-- and point the workers' PASSERELLE_DATABASE_URL at it. Safe to run again.
--
-- The worker reads and writes rows, nothing else: no DELETE, no TRUNCATE, no DDL. It only reads
-- `schema_migrations` (to check that nothing is pending); migrations stay with the owner.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'passerelle_worker') THEN
        CREATE ROLE passerelle_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO passerelle_worker;
GRANT SELECT ON schema_migrations TO passerelle_worker;
-- Projection upserts (INSERT ... ON CONFLICT DO UPDATE ... WHERE last_seq < ...) need all three.
GRANT SELECT, INSERT, UPDATE ON collaborations TO passerelle_worker;
-- Rows are only ever added (INSERT ... ON CONFLICT DO NOTHING); SELECT for reports and digests.
GRANT SELECT, INSERT ON milestones, notifications TO passerelle_worker;
-- Delivery claims and results (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, UPDATE).
GRANT SELECT, INSERT, UPDATE ON deliveries TO passerelle_worker;
