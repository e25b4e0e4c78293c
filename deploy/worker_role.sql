-- A least-privilege PostgreSQL role for Passerelle workers (docs/deployment.md, "Database roles").
--
-- 1. As a role that may create roles, create it (safe to run again):
--     psql "$ADMIN_DATABASE_URL" -f deploy/worker_role.sql
-- 2. Give it a password from your secret store, e.g.
--     psql "$ADMIN_DATABASE_URL" -c "ALTER ROLE passerelle_worker PASSWORD '…'"
-- 3. As the role that owns the tables, migrate and grant the workers' rights in one step (again
--    after every upgrade, so new tables get their grants):
--     PASSERELLE_DATABASE_URL="$OWNER_DATABASE_URL" passerelle migrate --grant-worker passerelle_worker
-- then point the workers' PASSERELLE_DATABASE_URL at the role.
--
-- The rights themselves live in one place, `WORKER_GRANTS` in passerelle/platform/db.py: rows only,
-- milestones and notifications append-only, KPI views read-only; no DELETE, TRUNCATE or DDL.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'passerelle_worker') THEN
        CREATE ROLE passerelle_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
